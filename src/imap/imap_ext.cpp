#include "imap/imap_session_impl.h"

#include "server/deflate_stream.h"

// Connection-level extensions: COMPRESS=DEFLATE (RFC 4978) and
// UNAUTHENTICATE (RFC 8437).
namespace mailfort::imap {

// RFC 4978: only after login (the command table), once per connection. The
// tagged OK goes out uncompressed; everything after it, both ways, is raw
// deflate. Bytes the client pipelined after the command are already
// compressed: the connection hands them to the new layer.
asio::awaitable<bool> ImapSession::cmd_compress(Command& c) {
  if (!cfg_->imap.compress) co_return co_await tagged(c.tag, "BAD", "Unknown command");  // not offered
  if (compressed_) co_return co_await tagged(c.tag, "NO", "[COMPRESSIONACTIVE] Compression already active");
  if (c.args[0] != "DEFLATE") co_return co_await tagged(c.tag, "NO", "Unsupported compression mechanism");
  if (!co_await tagged(c.tag, "OK", "DEFLATE active")) co_return false;
  conn_->wrap_stream([](std::unique_ptr<server::ByteStream> inner, std::string pending) {
    return server::make_deflate_stream(std::move(inner), std::move(pending));
  });
  compressed_ = true;
  spdlog::debug("imap compress session={} user={}", conn_->id(), account().user);
  co_return true;
}

// RFC 8437: back to the not-authenticated state with nothing of the login
// kept: the selected folder and the account (its mailbox watch goes with
// the last reference) are dropped, the account+address slot is given back,
// ENABLEd extensions are off again and the login deadline runs anew. TLS and
// compression stay: they belong to the connection, not to the login.
asio::awaitable<bool> ImapSession::cmd_unauthenticate(Command& c) {
  std::string user = account().user;
  state_ = NotAuthenticated{};
  if (!user_ip_key_.empty()) {
    svc_.release_user_ip(user_ip_key_);
    user_ip_key_.clear();
  }
  wake_->dirty = false;
  utf8_ = rev2_ = condstore_ = qresync_ = false;
  notify_.reset();  // NOTIFY SET belongs to the login
  conn_->mark_unauthenticated();
  conn_->limit_unauthenticated(seconds(cfg_->limits.unauthenticated_session_seconds));
  spdlog::info("imap unauthenticate session={} ip={} user={}", conn_->id(), conn_->peer_ip(), user);
  co_return co_await tagged(c.tag, "OK", completed(c));
}

}  // namespace mailfort::imap
