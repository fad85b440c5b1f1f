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

asio::awaitable<void> ImapSession::updates(Selected& sel, bool allow_expunge, bool force) {
  // Every change to the account's mailbox (this session's, another's, a
  // delivery) sets the flag after it commits: clean means nothing to look
  // for, so no worker-pool hop and no query.
  if (!force && !wake_->dirty) co_return;
  wake_->dirty = false;
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  uint64_t since = sel.modseq_seen;
  bool inbox = sel.name == "INBOX";
  // New mail is recent to the first IMAP4rev1 session that learns of it
  // (RFC 3501 2.3.2); an EXAMINE session sees it so without taking it.
  uint32_t last_seen = sel.view.last_uid(), first_recent = UINT32_MAX;
  bool want_recent = !rev2_, claim_recent = !rev2_ && !sel.read_only;
  auto ch = co_await blocking([&] {
    if (inbox) (void)mb->sync_inbox();
    auto r = mb->changes_since(folder, since);
    uint32_t top = r && !r->changed.empty() ? r->changed.back().uid : 0;
    if (want_recent && top > last_seen)
      if (auto first = mb->take_recent(folder, top, claim_recent)) first_recent = *first;
    return r;
  });
  if (!ch) {
    wake_->dirty = true;  // look again after the next command
    co_return;
  }
  bool expunges_pending = false;
  if (!ch->expunged.empty()) {
    if (allow_expunge) {
      report_expunged(sel, ch->expunged);
    } else {
      for (uint32_t uid : ch->expunged) expunges_pending = expunges_pending || sel.view.seq_of_uid(uid) != 0;
    }
  }
  uint32_t last_uid = sel.view.last_uid();
  std::size_t before = sel.view.size();
  for (auto& m : ch->changed) {
    if (m.uid > last_uid) {
      sel.view.push(m);
      if (m.uid >= first_recent) sel.recent.insert(m.uid);
      announce_keywords(sel, m.keywords);
      continue;
    }
    uint32_t seq = sel.view.seq_of_uid(m.uid);
    if (!seq) continue;
    bool flags_changed = sel.view.update(seq, m);
    if (flags_changed || condstore_) {
      std::string line = std::to_string(seq) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
                         session_flags(sel, m.uid, m.flags, m.keywords);
      if (condstore_) line += " MODSEQ (" + std::to_string(m.modseq) + ")";
      untagged(line + ")");
    }
  }
  if (sel.view.size() != before) untagged(std::to_string(sel.view.size()) + " EXISTS");
  // RECENT whenever the count changed: new mail, or recent messages
  // expunged (by this command or reported here), as Dovecot does.
  if (!rev2_ && (sel.view.size() != before || recent_count(sel) != sel.recent_reported)) {
    sel.recent_reported = recent_count(sel);
    untagged(std::to_string(sel.recent_reported) + " RECENT");
  }
  if (!expunges_pending) sel.modseq_seen = ch->highest_modseq;
  else
    wake_->dirty = true;  // the expunges wait for a command that may announce them
  co_await context_refresh(sel);
}

}  // namespace mailfort::imap
