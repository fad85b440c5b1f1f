#include "imap/imap_session_impl.h"

// Message commands of the selected state: STORE, COPY/MOVE, EXPUNGE,
// SEARCH, CLOSE/UNSELECT, IDLE, and the change updates (EXISTS, FETCH
// flags, EXPUNGE) other sessions cause.
namespace mailfort::server::imap_detail {

using namespace proto::imap;
using std::chrono::seconds;
using store::MessageMeta;

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
  wake_->dirty = false;
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  uint64_t since = sel.modseq_seen;
  bool inbox = sel.name == "INBOX";
  auto ch = co_await blocking([&] {
    if (inbox) (void)mb->sync_inbox();
    return mb->changes_since(folder, since);
  });
  if (!ch) co_return;
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
}

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
  if (c.store.unchanged_since) condstore_ = true;
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
      if (c.uid) items += "UID " + std::to_string(m.uid) + " ";
      items += "FLAGS " + flags_text(m.flags, m.keywords);
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
  auto r = co_await blocking([&] { return mb->copy(folder, uids, dest, move); });
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
    std::vector<uint32_t> gone = r->source_uids;
    for (uint32_t uid : gone) {
      uint32_t s = sel.view.seq_of_uid(uid);
      if (!s) continue;
      sel.view.erase(s);
      untagged(std::to_string(s) + " EXPUNGE");
    }
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
  for (uint32_t u : *r) {
    uint32_t s = sel.view.seq_of_uid(u);
    if (!s) continue;
    sel.view.erase(s);
    untagged(std::to_string(s) + " EXPUNGE");
  }
  co_await updates(sel, true);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_search(Command& c, Selected& sel) {
  bool text = imap::search_needs_text(c.search);
  auto* mb = sel.account->mailbox.get();
  int64_t folder = sel.folder;
  // The session's message numbers and UIDs; size, date and the current
  // flags come from the index (the session view keeps UIDs and flags only).
  std::vector<ImapView::Entry> view = sel.view.entries();
  uint32_t max_uid = sel.view.last_uid();
  const SearchKey& key = c.search;
  auto hits = co_await blocking([&]() -> std::vector<std::pair<uint32_t, uint32_t>> {
    std::vector<std::pair<uint32_t, uint32_t>> out;  // (seq, uid)
    auto all = mb->messages(folder);
    if (!all) return out;
    auto meta = all->begin();
    for (std::size_t i = 0; i < view.size(); ++i) {
      // Both in ascending UID order: merge.
      while (meta != all->end() && meta->uid < view[i].uid) ++meta;
      if (meta == all->end() || meta->uid != view[i].uid) continue;  // expunged meanwhile
      imap::SearchFacts f;
      f.seq = static_cast<uint32_t>(i + 1);
      f.uid = view[i].uid;
      f.flags = meta->flags;
      f.keywords = meta->keywords;
      f.internal_date = meta->internal_date;
      f.size = meta->size;
      f.modseq = meta->modseq;
      f.max_seq = static_cast<uint32_t>(view.size());
      f.max_uid = max_uid;
      std::string body;
      if (text) {
        auto r = mb->read(folder, view[i].uid);
        if (!r) continue;
        body = std::move(*r);
        f.message = body;
      }
      if (imap::search_matches(key, f)) out.emplace_back(f.seq, f.uid);
    }
    return out;
  });
  std::vector<uint32_t> ids;
  uint64_t max_modseq = 0;
  for (auto& [s, u] : hits) {
    ids.push_back(c.uid ? u : s);
    max_modseq = std::max(max_modseq, sel.view.at(s).modseq);
  }
  bool modseq_key = false;
  std::function<void(const SearchKey&)> scan = [&](const SearchKey& k) {
    if (k.op == SearchKey::Op::ModSeq) modseq_key = true;
    for (auto& ch : k.children) scan(ch);
  };
  scan(c.search);
  if (modseq_key) condstore_ = true;
  if (c.search_esearch || rev2_) {
    std::string line = "ESEARCH (TAG " + quote(c.tag) + ")";
    if (c.uid) line += " UID";
    std::vector<std::string> ret = c.search_return;
    if (ret.empty()) ret.push_back("ALL");
    for (auto& r : ret) {
      if (ids.empty() && r != "COUNT") continue;
      if (r == "MIN") line += " MIN " + std::to_string(ids.front());
      if (r == "MAX") line += " MAX " + std::to_string(ids.back());
      if (r == "COUNT") line += " COUNT " + std::to_string(ids.size());
      if (r == "ALL") line += " ALL " + seq_set_text(ids);
    }
    if (modseq_key && !ids.empty()) line += " MODSEQ " + std::to_string(max_modseq);
    untagged(line);
  } else {
    std::string line = "SEARCH";
    for (uint32_t id : ids) line += " " + std::to_string(id);
    if (modseq_key && !ids.empty()) line += " (MODSEQ " + std::to_string(max_modseq) + ")";
    untagged(line);
  }
  co_await updates(sel, false);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<bool> ImapSession::cmd_close(Command& c, Selected& sel, bool expunge) {
  if (expunge && !sel.read_only) {
    auto* mb = sel.account->mailbox.get();
    int64_t folder = sel.folder;
    (void)co_await blocking([&] { return mb->expunge(folder, nullptr); });
  }
  deselect();
  co_return co_await tagged(c.tag, "OK", completed(c));
}

// Reads the line that ends IDLE while the session waits for changes.
asio::awaitable<void> read_idle_done(std::shared_ptr<IdleReader> reader, std::shared_ptr<Wake> wake,
                                     std::shared_ptr<Connection> conn, seconds timeout) {
  reader->status = co_await conn->read_line(reader->line, timeout);
  reader->finished = true;
  wake->timer.cancel();
}

asio::awaitable<bool> ImapSession::cmd_idle(Command& c) {
  out_ += "+ idling\r\n";
  if (auto* sel = selected()) co_await updates(*sel, true);
  if (!co_await flush()) co_return false;
  auto reader = std::make_shared<IdleReader>();
  auto ex = co_await asio::this_coro::executor;
  // A named coroutine with by-value parameters, not a capturing lambda in
  // an expression with co_await: GCC 12 destroys such temporaries early.
  asio::co_spawn(ex, read_idle_done(reader, wake_, conn_, seconds(cfg_->imap.idle_timeout_seconds)),
                 asio::detached);
  while (!reader->finished) {
    wake_->timer.expires_after(seconds(cfg_->imap.idle_notify_seconds));
    if (!wake_->dirty) {
      auto [ec] = co_await wake_->timer.async_wait(use_tuple);
      if (reader->finished) break;
      if (!ec && !wake_->dirty) {
        untagged("OK Still here");
        if (!co_await flush()) co_return false;
        continue;
      }
    }
    if (auto* sel = selected(); wake_->dirty && sel) {
      co_await updates(*sel, true);
      if (!co_await flush()) co_return false;
    }
    wake_->dirty = false;
  }
  if (reader->status != Connection::ReadStatus::Line) co_return false;
  if (strcasecmp(reader->line.c_str(), "DONE") != 0) {
    co_return co_await tagged(c.tag, "BAD", "Expected DONE");
  }
  co_return co_await tagged(c.tag, "OK", "IDLE terminated");
}

}  // namespace mailfort::server::imap_detail
