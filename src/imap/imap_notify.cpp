#include "imap/imap_session_impl.h"

// NOTIFY (RFC 5465): NOTIFY SET [STATUS] / NOTIFY NONE, and the reports
// between commands. The mailbox watcher (UserMailbox::watch, the Wake
// timer) wakes the session on any change of the account; the session then
// compares the folder list with the snapshot it last reported, so nothing
// is queued per event: unsolicited STATUS for other folders (MessageNew,
// MessageExpunge, FlagChange), LIST for MailboxName (with OLDNAME on a
// rename, \NonExistent on a delete) and SubscriptionChange, and the
// selected folder's EXISTS/EXPUNGE (VANISHED)/FETCH per the selected
// filter, with MessageNew's fetch attributes. Annotation and metadata
// events are refused with [BADEVENT]. A wake-up that would produce more
// than imap.notify_max_pending_bytes turns NOTIFY off with
// [NOTIFICATIONOVERFLOW] (5.8).
namespace mailfort::imap {

struct NotifyState {
  std::vector<NotifyFilter> filters;             // mailbox names as stored (UTF-8, "INBOX")
  int selected = -1;                             // the selected / selected-delayed filter
  std::map<int64_t, store::FolderStatus> known;  // by folder id, as last reported
};

namespace {

constexpr uint32_t kMessageEvents = kNotifyMessageNew | kNotifyMessageExpunge | kNotifyFlagChange;
constexpr uint32_t kSupportedEvents = kMessageEvents | kNotifyMailboxName | kNotifySubscriptionChange;

bool covers(const NotifyFilter& f, const store::FolderStatus& box) {
  using Kind = NotifyFilter::Kind;
  switch (f.kind) {
    case Kind::Selected:
    case Kind::SelectedDelayed:
      return false;
    case Kind::Inboxes:
      return box.name == "INBOX";
    case Kind::Personal:
      return true;
    case Kind::Subscribed:
      return box.subscribed;
    case Kind::Subtree:
      for (auto& m : f.mailboxes)
        if (box.name == m || box.name.starts_with(m + "/")) return true;
      return false;
    case Kind::Mailboxes:
      for (auto& m : f.mailboxes)
        if (box.name == m) return true;
      return false;
  }
  return false;
}

// The events asked for a (non-selected) folder: those of the first filter
// that covers it.
uint32_t events_for(const NotifyState& st, const store::FolderStatus& box) {
  for (auto& f : st.filters)
    if (covers(f, box)) return f.events;
  return 0;
}

}  // namespace

asio::awaitable<bool> ImapSession::cmd_notify(Command& c) {
  if (!c.notify.set) {
    notify_.reset();
    co_return co_await tagged(c.tag, "OK", completed(c));
  }
  uint32_t all = 0;
  for (auto& f : c.notify.filters) all |= f.events;
  if (all & ~kSupportedEvents)
    co_return co_await tagged(
        c.tag, "NO",
        "[BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event");
  auto st = std::make_shared<NotifyState>();
  for (auto& f : c.notify.filters) {
    NotifyFilter g = f;
    for (auto& m : g.mailboxes) {
      m = from_wire(m);
      if (strcasecmp(m.c_str(), "INBOX") == 0) m = "INBOX";
      while (!m.empty() && m.back() == '/') m.pop_back();
    }
    if (g.kind == NotifyFilter::Kind::Selected || g.kind == NotifyFilter::Kind::SelectedDelayed)
      st->selected = static_cast<int>(st->filters.size());
    st->filters.push_back(std::move(g));
  }
  auto* mb = account().mailbox.get();
  auto folders = co_await blocking([&] {
    (void)mb->sync_inbox();
    return mb->folders();
  });
  if (!folders) co_return co_await tagged(c.tag, "NO", "[UNAVAILABLE] Cannot list folders");
  int64_t selected_id = selected() ? selected()->folder : -1;
  for (auto& f : *folders) {
    st->known[f.id] = f;
    uint32_t ev = events_for(*st, f);
    // STATUS indicator: where message events are asked, the state they
    // start from (5.1); never for the selected folder.
    if (c.notify.status && f.id != selected_id && (ev & kMessageEvents)) {
      std::string items = "MESSAGES " + std::to_string(f.messages) + " UIDNEXT " + std::to_string(f.uidnext) +
                          " UIDVALIDITY " + std::to_string(f.uidvalidity) + " UNSEEN " +
                          std::to_string(f.unseen);
      if (ev & kNotifyFlagChange) items += " HIGHESTMODSEQ " + std::to_string(f.highest_modseq);
      untagged("STATUS " + quote(wire_name(f.name)) + " (" + items + ")");
    }
  }
  notify_ = std::move(st);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

asio::awaitable<void> ImapSession::notify_poll() {
  auto st = notify_;  // NOTIFY NONE cannot run meanwhile, but keep it alive anyway
  if (!st) co_return;
  wake_->dirty = false;
  if (auto* sel = selected(); sel && st->selected >= 0) {
    const NotifyFilter& f = st->filters[st->selected];
    if (f.events & kMessageEvents) {
      uint32_t last = sel->view.last_uid();
      co_await updates(*sel, f.kind == NotifyFilter::Kind::Selected, /*force=*/true);  // flag cleared above
      if (!f.fetch.empty() && sel->view.last_uid() > last) {
        // MessageNew's fetch attributes: a FETCH of the new messages
        // without a tagged line (tagged() skips an empty tag).
        Command fetch;
        fetch.kind = CommandKind::Fetch;
        fetch.uid = true;
        fetch.set.ranges.push_back({last + 1, SequenceSet::kStar});
        fetch.fetch = f.fetch;
        (void)co_await cmd_fetch(fetch, *sel);
      }
    }
  }
  // What follows only reports (the selected folder's updates above change
  // the session's view and are never dropped): the overflow check below
  // counts and drops from here.
  std::size_t start = out_.size();
  auto* mb = account().mailbox.get();
  auto folders = co_await blocking([&] {
    (void)mb->sync_inbox();
    return mb->folders();
  });
  if (!folders || notify_ != st) co_return;
  std::map<int64_t, store::FolderStatus> now;
  for (auto& f : *folders) now[f.id] = f;
  int64_t selected_id = selected() ? selected()->folder : -1;
  for (auto& [id, old] : st->known) {
    if (!now.count(id) && (events_for(*st, old) & kNotifyMailboxName))
      untagged("LIST (\\NonExistent) \"/\" " + quote(wire_name(old.name)));
  }
  for (auto& [id, f] : now) {
    uint32_t ev = events_for(*st, f);
    auto it = st->known.find(id);
    if (it == st->known.end()) {
      if (ev & kNotifyMailboxName)
        untagged(std::string("LIST (") + (f.subscribed ? "\\Subscribed" : "") + ") \"/\" " +
                 quote(wire_name(f.name)));
      continue;
    }
    const store::FolderStatus& old = it->second;
    if (old.name != f.name && ((ev | events_for(*st, old)) & kNotifyMailboxName)) {
      untagged(std::string("LIST (") + (f.subscribed ? "\\Subscribed" : "") + ") \"/\" " +
               quote(wire_name(f.name)) + " (\"OLDNAME\" (" + quote(wire_name(old.name)) + "))");
    } else if (old.subscribed != f.subscribed && ((ev | events_for(*st, old)) & kNotifySubscriptionChange)) {
      untagged(std::string("LIST (") + (f.subscribed ? "\\Subscribed" : "") + ") \"/\" " +
               quote(wire_name(f.name)));
    }
    if (id == selected_id || !(ev & kMessageEvents)) continue;
    bool reset = old.uidvalidity != f.uidvalidity;
    bool arrived = f.uidnext != old.uidnext;
    bool expunged = uint64_t{old.messages} + (f.uidnext - old.uidnext) > f.messages;
    bool flagged = f.highest_modseq != old.highest_modseq || f.unseen != old.unseen;
    if (!reset && !((ev & kNotifyMessageNew) && arrived) && !((ev & kNotifyMessageExpunge) && expunged) &&
        !((ev & kNotifyFlagChange) && flagged))
      continue;
    std::string items = "MESSAGES " + std::to_string(f.messages) + " UIDNEXT " + std::to_string(f.uidnext) +
                        " UIDVALIDITY " + std::to_string(f.uidvalidity) + " UNSEEN " +
                        std::to_string(f.unseen);
    if (ev & kNotifyFlagChange) items += " HIGHESTMODSEQ " + std::to_string(f.highest_modseq);
    untagged("STATUS " + quote(wire_name(f.name)) + " (" + items + ")");
  }
  st->known = std::move(now);
  if (out_.size() > start && out_.size() - start > cfg_->imap.notify_max_pending_bytes) {
    // Too far behind to report it all: say so and stop (RFC 5465 5.8);
    // the client resynchronises and sets NOTIFY again.
    out_.resize(start);
    untagged("OK [NOTIFICATIONOVERFLOW] Too many notifications; NOTIFY is off");
    notify_.reset();
  }
}

namespace {

struct LineWait {
  std::string line;
  Connection::ReadStatus status = Connection::ReadStatus::Closed;
  bool finished = false;
};

// Reads the next command's first line while the session waits for
// notifications (a named coroutine with by-value parameters: see IDLE).
asio::awaitable<void> read_next_line(std::shared_ptr<LineWait> wait, std::shared_ptr<Wake> wake,
                                     std::shared_ptr<Connection> conn, seconds timeout) {
  wait->status = co_await conn->read_line(wait->line, timeout);
  wait->finished = true;
  wake->timer.cancel();
}

}  // namespace

asio::awaitable<bool> ImapSession::notify_wait() {
  if (conn_->buffered() > 0) co_return true;  // pipelined: the next command is here already
  if (wake_->dirty) {
    co_await notify_poll();
    if (!co_await flush()) co_return false;
  }
  auto wait = std::make_shared<LineWait>();
  auto ex = co_await asio::this_coro::executor;
  asio::co_spawn(ex, read_next_line(wait, wake_, conn_, idle_timeout()), asio::detached);
  while (!wait->finished) {
    wake_->timer.expires_after(seconds(cfg_->imap.idle_timeout_seconds));
    if (!wake_->dirty) (void)co_await wake_->timer.async_wait(use_tuple);
    if (wait->finished) break;
    if (!notify_) {  // overflowed: the next command reports what IMAP requires
      wake_->dirty = false;
    } else if (wake_->dirty) {
      co_await notify_poll();
      if (!co_await flush()) co_return false;
    }
  }
  pending_line_.emplace(wait->status, std::move(wait->line));
  co_return true;
}

}  // namespace mailfort::imap
