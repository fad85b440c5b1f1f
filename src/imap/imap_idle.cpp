#include "imap/imap_session_impl.h"

// IDLE: waits for DONE while the mailbox watcher wakes the session to
// report changes, with "* OK Still here" to keep NAT state alive.
namespace mailfort::imap {

namespace {

struct IdleReader {
  std::string line;
  Connection::ReadStatus status = Connection::ReadStatus::Closed;
  bool finished = false;
};

// Reads the line that ends IDLE while the session waits for changes.
asio::awaitable<void> read_idle_done(std::shared_ptr<IdleReader> reader, std::shared_ptr<Wake> wake,
                                     std::shared_ptr<Connection> conn, seconds timeout) {
  reader->status = co_await conn->read_line(reader->line, timeout);
  reader->finished = true;
  wake->timer.cancel();
}

}  // namespace

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
    bool woke = wake_->dirty;
    if (notify_ && woke) {  // NOTIFY: the other folders' reports too
      co_await notify_poll();
      if (!co_await flush()) co_return false;
    }
    if (auto* sel = selected(); woke && sel) {
      co_await updates(*sel, true, /*force=*/true);  // notify_poll() may have cleared the flag
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

}  // namespace mailfort::imap
