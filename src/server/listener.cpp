#include "server/listener.h"

#include <spdlog/spdlog.h>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include "base/use_tuple.h"
#include "policy/ban_service.h"
#include "policy/connection_limiter.h"
#include "server/connection.h"
#include "server/services.h"
#include "server/session_registry.h"

namespace mailfort::server {
namespace {


// Refusal text in the listener's own protocol (plaintext listeners only; an
// implicit-TLS client would not understand plaintext, so it is just closed).
std::string refusal_line(config::Protocol p, const std::string& host, const std::string& why) {
  switch (p) {
    case config::Protocol::smtp:
    case config::Protocol::submission:
      return "421 4.7.0 " + host + " " + why + "\r\n";
    case config::Protocol::imap:
      return "* BYE [UNAVAILABLE] " + why + "\r\n";
    case config::Protocol::pop3:
      return "-ERR [SYS/TEMP] " + why + "\r\n";
    case config::Protocol::managesieve:
      return "BYE (TRYLATER) \"" + why + "\"\r\n";
    case config::Protocol::admin:
      return "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  }
  return "";
}

asio::awaitable<void> refuse(std::shared_ptr<Connection> conn, const config::Listener& l,
                             const std::string& host, const std::string& why) {
  if (l.tls != config::TlsMode::implicit) co_await conn->write(refusal_line(l.protocol, host, why));
  co_await conn->shutdown();
}

asio::awaitable<void> handle_connection(asio::ip::tcp::socket socket, const config::Listener& l,
                                        Services& services, SessionRegistry& registry,
                                        SessionRunner run_session) {
  auto cfg = services.config();
  auto conn =
      std::make_shared<Connection>(std::move(socket), line_limit(*cfg, l), services.next_session_id());
  const std::string& ip = conn->peer_ip();
  const char* proto = config::to_string(l.protocol);

  if (services.bans && services.bans->is_banned(ip)) {
    spdlog::info("{} refused session={} ip={} listener={} reason=banned", proto, conn->id(), ip, l.name);
    co_await refuse(conn, l, cfg->hostname, "Too many failed logins from your address; try again later");
    co_return;
  }
  policy::ConnectionLimiter::Refusal why{};
  auto slot = services.limiter->acquire(ip, why);
  if (!slot) {
    bool per_ip = why == policy::ConnectionLimiter::Refusal::PerIp;
    spdlog::info("{} refused session={} ip={} listener={} reason={}", proto, conn->id(), ip, l.name,
                 per_ip ? "per-ip-limit" : "total-limit");
    co_await refuse(
        conn, l, cfg->hostname,
        per_ip ? "Too many connections from your address" : "Too many connections; try again later");
    co_return;
  }
  spdlog::info("{} connect session={} ip={} port={} listener={}", proto, conn->id(), ip, conn->peer_port(),
               l.name);
  registry.add(conn);
  auto started = std::chrono::steady_clock::now();
  try {
    co_await run_session(conn, services, cfg, l);
  } catch (const std::exception& e) {
    // A bug in one session ends that session, never the server.
    spdlog::error("{} session-error session={} ip={} error={}", proto, conn->id(), ip, e.what());
  }
  co_await conn->shutdown();
  registry.remove(conn->id());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("{} disconnect session={} ip={} duration_ms={}", proto, conn->id(), ip, ms.count());
}

}  // namespace

std::size_t line_limit(const config::Config& cfg, const config::Listener& l) {
  std::size_t max_line = cfg.limits.max_line_length;
  if (l.protocol == config::Protocol::imap) max_line = std::max<std::size_t>(max_line, 65536);
  return max_line;
}

Result<std::unique_ptr<Listener>> bind_listener(asio::io_context& ctx, const config::Listener& cfg) {
  std::error_code ec;
  auto addr = asio::ip::make_address(cfg.host, ec);
  if (ec) return make_error(Errc::Invalid, "listener " + cfg.name + ": bad address " + cfg.address);
  asio::ip::tcp::endpoint ep(addr, cfg.port);
  auto l = std::make_unique<Listener>(Listener{cfg, asio::ip::tcp::acceptor(ctx)});
  auto& a = l->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && addr.is_v6()) a.set_option(asio::ip::v6_only(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Errc::Perm,
                      "listener " + cfg.name + ": cannot listen on " + cfg.address + ": " + ec.message());
  }
  return l;
}

asio::awaitable<void> accept_loop(Listener& listener, Services& services, SessionRegistry& registry,
                                  std::vector<asio::io_context*> contexts, SessionRunner run_session) {
  std::size_t next = 0;
  while (listener.acceptor.is_open()) {
    asio::io_context& target = *contexts[next++ % contexts.size()];
    auto [ec, socket] = co_await listener.acceptor.async_accept(target, use_tuple);
    if (ec == asio::error::operation_aborted || !listener.acceptor.is_open()) break;
    if (ec) {
      // EMFILE and friends: back off briefly instead of spinning.
      spdlog::warn("accept-error listener={} error={}", listener.cfg.name, ec.message());
      asio::steady_timer pause(listener.acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    asio::co_spawn(target,
                   handle_connection(std::move(socket), listener.cfg, services, registry, run_session),
                   [](std::exception_ptr e) {
                     // Never let one connection's failure escape into io_context::run().
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       spdlog::error("session-error error={}", ex.what());
                     } catch (...) {
                       spdlog::error("session-error error=unknown");
                     }
                   });
  }
}

}  // namespace mailfort::server
