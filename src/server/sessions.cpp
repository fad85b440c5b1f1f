#include "server/sessions.h"

#include <spdlog/spdlog.h>

#include "imap/imap_session.h"
#include "managesieve/managesieve_session.h"
#include "pop3/pop3_session.h"
#include "server/connection.h"
#include "server/services.h"
#include "smtp/smtp_session.h"
#include "tls/context.h"

namespace mailfort::server {
namespace {

// Protocols whose sessions have not landed yet (the admin API)
// still bind their listeners (ports reserved, TLS proven) and answer with
// their protocol's own "unavailable" reply, so clients fail clearly instead
// of hanging.
asio::awaitable<void> run_unavailable(std::shared_ptr<Connection> conn, Services& services,
                                      const config::Config& cfg, const config::Listener& l) {
  if (l.tls == config::TlsMode::implicit) {
    std::size_t discarded = 0;
    if (!services.tls || !co_await conn->start_tls(
                             services.tls->current(),
                             std::chrono::seconds(cfg.limits.tls_handshake_timeout_seconds), discarded)) {
      co_return;
    }
  }
  std::string text;
  switch (l.protocol) {
    case config::Protocol::admin:
      text =
          "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\n"
          "Content-Length: 37\r\n\r\nadmin API not available in this build\n";
      break;
    default:
      break;
  }
  co_await conn->write(text);
}

}  // namespace

asio::awaitable<void> run_session(std::shared_ptr<Connection> conn, Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  switch (listener.protocol) {
    case config::Protocol::smtp:
    case config::Protocol::submission:
      co_await smtp::run_session(std::move(conn), services, std::move(cfg), listener);
      break;
    case config::Protocol::imap:
      co_await imap::run_session(std::move(conn), services, std::move(cfg), listener);
      break;
    case config::Protocol::pop3:
      co_await pop3::run_session(std::move(conn), services, std::move(cfg), listener);
      break;
    case config::Protocol::managesieve:
      co_await managesieve::run_session(std::move(conn), services, std::move(cfg), listener);
      break;
    default:
      co_await run_unavailable(std::move(conn), services, *cfg, listener);
      break;
  }
}

}  // namespace mailfort::server
