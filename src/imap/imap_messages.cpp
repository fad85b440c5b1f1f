#include "imap/imap_session_impl.h"
#include "imap/imap_spam_learning.h"

// Changing messages of the selected folder: STORE (UNCHANGEDSINCE),
// COPY/MOVE (COPYUID), EXPUNGE and UID EXPUNGE.
namespace mailfort::imap {

asio::awaitable<bool> ImapSession::cmd_store(Command& c, Selected& sel) {
  if (sel.read_only) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  if (!c.uid && !valid_seqs(c.set, sel.view.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  uint32_t bits = 0;
  std::vector<std::string> kw;
  if (!split_flags(c.store.flags, bits, kw)) co_return co_await tagged(c.tag, "BAD", "Invalid flag");
  auto seqs = resolve(sel.view, c.set, c.uid);
  std::vector<uint32_t> uids;
  for (uint32_t s : seqs) uids.push_back(sel.view.uid(s));
  auto mode = c.store.mode == StoreArgs::Mode::Add      ? store::UserMailbox::FlagMode::Add
              : c.store.mode == StoreArgs::Mode::Remove ? store::UserMailbox::FlagMode::Remove
                                                        : store::UserMailbox::FlagMode::Replace;
  if (c.store.unchanged_since) enable_condstore();
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  auto r = co_await blocking(
      [&] { return mb->store_flags(folder, uids, mode, bits, kw, c.store.unchanged_since); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  for (auto& m : r->updated) {
    uint32_t s = sel.view.seq_of_uid(m.uid);
    if (!s) continue;
    // Only messages whose flags (or modseq) changed are reported, as Dovecot does.
    bool modseq_changed = sel.view.at(s).modseq != m.modseq;
    bool changed = sel.view.update(s, m) || modseq_changed;
    if (changed && (!c.store.silent || condstore_)) {
      std::string items;
      if (c.uid || qresync_) items += "UID " + std::to_string(m.uid) + " ";
      items += "FLAGS " + session_flags(sel, m.uid, m.flags, m.keywords);
      if (condstore_) items += " MODSEQ (" + std::to_string(m.modseq) + ")";
      untagged(std::to_string(s) + " FETCH (" + items + ")");
    }
  }
  co_await updates(sel, false);
  if (!r->modified.empty()) {
    std::vector<uint32_t> ids;
    for (uint32_t uid : r->modified) ids.push_back(c.uid ? uid : sel.view.seq_of_uid(uid));
    std::sort(ids.begin(), ids.end());
    co_return co_await tagged(c.tag, "OK", "[MODIFIED " + seq_set_text(ids) + "] Conditional STORE failed");
  }
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_copy(Command& c, Selected& sel, bool move) {
  if (move && sel.read_only) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  if (!c.uid && !valid_seqs(c.set, sel.view.size()))
    co_return co_await tagged(c.tag, "BAD", "Invalid message sequence number");
  auto seqs = resolve(sel.view, c.set, c.uid);
  std::vector<uint32_t> uids;
  for (uint32_t s : seqs) uids.push_back(sel.view.uid(s));
  std::string dest = from_wire(c.args[0]);
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  if (uids.empty()) co_return co_await tagged(c.tag, "OK", "No messages");
  // Into or out of Junk: the copies' files go to the spam learner in the
  // same worker hop (imap_spam_learning.h).
  auto lesson = svc_.filter ? lesson_of_copy(sel.name, dest, cfg_->imap) : MoveLesson::None;
  filter::FilterService* learner = svc_.filter.get();
  const std::string& user = sel.account->user;
  auto r = co_await blocking([&] {
    auto copied = mb->copy(folder, uids, dest, move);
    if (copied && lesson != MoveLesson::None)
      learn_from_copy(*learner, *mb, user, dest, copied->dest_uids, lesson);
    return copied;
  });
  if (!r) {
    if (r.error().code == Errc::NotFound)
      co_return co_await tagged(c.tag, "NO", "[TRYCREATE] Mailbox does not exist");
    co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  }
  // All of them expunged meanwhile by another session: no empty COPYUID.
  if (r->source_uids.empty())
    co_return co_await tagged(c.tag, "NO", "[EXPUNGEISSUED] Some of the requested messages no longer exist");
  std::string code = "[COPYUID " + std::to_string(r->uidvalidity) + " " + seq_set_text(r->source_uids) + " " +
                     seq_set_text(r->dest_uids) + "] ";
  if (move) {
    // RFC 6851: COPYUID in an untagged OK, then the EXPUNGEs, then OK.
    untagged("OK " + code + "Moved");
    report_expunged(sel, r->source_uids);
    co_await updates(sel, true);
    co_return co_await tagged(c.tag, "OK", completed(c));
  }
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", code + completed(c));
}

asio::awaitable<bool> ImapSession::cmd_expunge(Command& c, Selected& sel) {
  if (sel.read_only) co_return co_await tagged(c.tag, "NO", "[READ-ONLY] Mailbox is read-only");
  std::vector<uint32_t> only;
  if (c.uid) {
    for (uint32_t s : resolve(sel.view, c.set, true)) only.push_back(sel.view.uid(s));
  }
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  bool uid = c.uid;
  auto r = co_await blocking([&] { return mb->expunge(folder, uid ? &only : nullptr); });
  if (!r) co_return co_await tagged(c.tag, "NO", error_code(r.error()) + r.error().message);
  report_expunged(sel, *r);
  co_await updates(sel, true);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
