#include "imap/imap_session_impl.h"

// QRESYNC (RFC 7162 3.2): expunges reported as VANISHED once enabled, the
// one-round-trip resynchronisation of SELECT/EXAMINE (QRESYNC (...)), and
// UID FETCH (CHANGEDSINCE n VANISHED). The index keeps every expunged UID
// with its MODSEQ for as long as the folder (UIDVALIDITY) lives, so
// VANISHED (EARLIER) is exact; if that ever changes, reporting UIDs the
// client never had is allowed (3.2.5.2), missing one is not.
namespace mailfort::imap {

void ImapSession::report_expunged(Selected& sel, const std::vector<uint32_t>& uids) {
  std::vector<uint32_t> gone;
  for (uint32_t uid : uids) {
    uint32_t seq = sel.view.seq_of_uid(uid);
    if (!seq) continue;
    context_expunged(sel, seq);  // REMOVEFROM before the expunge (RFC 5267 4.4)
    sel.view.erase(seq);
    sel.recent.erase(uid);
    if (qresync_)
      gone.push_back(uid);
    else
      untagged(std::to_string(seq) + " EXPUNGE");
  }
  if (gone.empty()) return;
  std::sort(gone.begin(), gone.end());
  untagged("VANISHED " + seq_set_text(gone));
}

asio::awaitable<void> ImapSession::qresync_select(const QresyncParams& q, Selected& sel) {
  // Another UIDVALIDITY: the client's cache is void and it must resync
  // in full; nothing to say (3.2.5).
  if (q.uidvalidity != sel.uidvalidity) co_return;
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  uint64_t since = q.modseq;
  auto ch = co_await blocking([&] { return mb->changes_since(folder, since); });
  if (ch) {
    std::vector<uint32_t> vanished;
    for (uint32_t uid : ch->expunged) {
      if (sel.view.seq_of_uid(uid)) continue;  // expunged after this SELECT's snapshot: reported later
      if (q.known_uids && !q.known_uids->contains(uid, SequenceSet::kStar)) continue;
      vanished.push_back(uid);
    }
    std::sort(vanished.begin(), vanished.end());
    vanished.erase(std::unique(vanished.begin(), vanished.end()), vanished.end());
    if (!vanished.empty()) untagged("VANISHED (EARLIER) " + seq_set_text(vanished));
  } else {
    // Without the expunge history: every UID up to the highest the client
    // may know that is not here (3.2.5.2 allows the excess).
    uint32_t hi = sel.view.last_uid();
    if (q.known_uids)
      for (auto r : q.known_uids->ranges)
        if (r.hi != SequenceSet::kStar) hi = std::max(hi, r.hi);
    std::string gaps;
    uint32_t next = 1;
    auto gap = [&](uint32_t lo, uint32_t up) {
      if (lo > up) return;
      if (!gaps.empty()) gaps += ',';
      gaps += lo == up ? std::to_string(lo) : std::to_string(lo) + ":" + std::to_string(up);
    };
    for (auto& e : sel.view.entries()) {
      gap(next, e.uid - 1);
      next = e.uid + 1;
    }
    if (next <= hi) gap(next, hi);
    if (!gaps.empty()) untagged("VANISHED (EARLIER) " + gaps);
  }
  // The messages changed (or new) since the client's MODSEQ, as this
  // SELECT's snapshot has them.
  for (uint32_t seq = 1; seq <= sel.view.size(); ++seq) {
    const ImapView::Entry& m = sel.view.at(seq);
    if (m.modseq <= q.modseq) continue;
    untagged(std::to_string(seq) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
             session_flags(sel, m.uid, m.flags, sel.view.keywords(seq)) + " MODSEQ (" +
             std::to_string(m.modseq) + "))");
    if (out_.size() > 256 * 1024) (void)co_await flush();
  }
}

asio::awaitable<void> ImapSession::fetch_vanished(const Command& c, Selected& sel) {
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  uint64_t since = *c.changed_since;
  auto ch = co_await blocking([&] { return mb->changes_since(folder, since); });
  if (!ch) co_return;
  std::vector<uint32_t> vanished;
  for (uint32_t uid : ch->expunged)
    if (c.set.contains(uid, SequenceSet::kStar)) vanished.push_back(uid);
  std::sort(vanished.begin(), vanished.end());
  vanished.erase(std::unique(vanished.begin(), vanished.end()), vanished.end());
  if (!vanished.empty()) untagged("VANISHED (EARLIER) " + seq_set_text(vanished));
}

}  // namespace mailfort::imap
