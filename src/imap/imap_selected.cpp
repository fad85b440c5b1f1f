#include "imap/imap_session_impl.h"

// The selected state's snapshot: message numbers from sequence sets, and
// the updates other sessions' changes cause (EXISTS, FETCH flags; EXPUNGE
// only where RFC 9051 7.5.1 allows).
namespace mailfort::imap {

std::vector<uint32_t> ImapSession::resolve(const ImapView& view, const SequenceSet& set, bool uid) {
  std::vector<uint32_t> out;
  if (view.empty()) return out;
  if (uid) {
    uint32_t max_uid = view.last_uid();
    uint32_t seq = 0;
    for (auto& m : view.entries()) {
      ++seq;
      if (set.contains(m.uid, max_uid)) out.push_back(seq);
    }
    return out;
  }
  uint32_t n = static_cast<uint32_t>(view.size());
  std::vector<bool> in(n + 1, false);
  for (auto r : set.ranges) {
    uint32_t lo = r.lo == SequenceSet::kStar ? n : r.lo, hi = r.hi == SequenceSet::kStar ? n : r.hi;
    if (lo > hi) std::swap(lo, hi);
    for (uint32_t i = lo; i <= std::min(hi, n); ++i) in[i] = true;
  }
  for (uint32_t i = 1; i <= n; ++i)
    if (in[i]) out.push_back(i);
  return out;
}

asio::awaitable<void> ImapSession::updates(Selected& sel, bool allow_expunge) {
  // Every change to the account's mailbox (this session's, another's, a
  // delivery) sets the flag after it commits: clean means nothing to look
  // for, so no worker-pool hop and no query.
  if (!wake_->dirty) co_return;
  wake_->dirty = false;
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  uint64_t since = sel.modseq_seen;
  bool inbox = sel.name == "INBOX";
  auto ch = co_await blocking([&] {
    if (inbox) (void)mb->sync_inbox();
    return mb->changes_since(folder, since);
  });
  if (!ch) {
    wake_->dirty = true;  // look again after the next command
    co_return;
  }
  bool expunges_pending = false;
  if (!ch->expunged.empty()) {
    if (allow_expunge) {
      for (uint32_t uid : ch->expunged) {
        uint32_t seq = sel.view.seq_of_uid(uid);
        if (!seq) continue;
        sel.view.erase(seq);
        untagged(std::to_string(seq) + " EXPUNGE");
      }
    } else {
      for (uint32_t uid : ch->expunged) expunges_pending = expunges_pending || sel.view.seq_of_uid(uid) != 0;
    }
  }
  uint32_t last_uid = sel.view.last_uid();
  std::size_t before = sel.view.size();
  for (auto& m : ch->changed) {
    if (m.uid > last_uid) {
      sel.view.push(m);
      continue;
    }
    uint32_t seq = sel.view.seq_of_uid(m.uid);
    if (!seq) continue;
    bool flags_changed = sel.view.update(seq, m);
    if (flags_changed || condstore_) {
      std::string line = std::to_string(seq) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
                         flags_text(m.flags, m.keywords);
      if (condstore_) line += " MODSEQ (" + std::to_string(m.modseq) + ")";
      untagged(line + ")");
    }
  }
  if (sel.view.size() != before) untagged(std::to_string(sel.view.size()) + " EXISTS");
  if (!expunges_pending) sel.modseq_seen = ch->highest_modseq;
  else wake_->dirty = true;  // the expunges wait for a command that may announce them
}

}  // namespace mailfort::imap
