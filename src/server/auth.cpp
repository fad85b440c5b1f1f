#include "server/auth.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "base/log.h"
#include "directory/auth_cache.h"
#include "directory/directory.h"
#include "policy/ban_service.h"
#include "server/blocking.h"
#include "server/connection.h"
#include "server/services.h"
#include "server/session_registry.h"

namespace mailfort::server {

namespace {

LoginOutcome refused_banned(const char* protocol, const std::string& ip, uint64_t session) {
  spdlog::info("{} auth refused session={} ip={} reason=banned", protocol, session, ip);
  LoginOutcome out;
  out.banned = true;
  return out;
}

}  // namespace

asio::awaitable<LoginOutcome> check_login(Services& services, const char* protocol, const Connection& conn,
                                          const std::string& login, const std::string& password) {
  auto* dir = services.directory.get();
  auto* bans = services.bans.get();
  auto* cache = services.auth_cache.get();
  auto* sessions = services.sessions;
  const std::string ip = conn.peer_ip();
  const uint64_t session = conn.id();
  // A connection opened before its client was banned gets no more guesses,
  // and not even a correct password lets it in.
  if (bans && bans->is_banned(ip)) co_return refused_banned(protocol, ip, session);
  // Fast path on the general pool: the account row (fresh, so a disabled
  // account or a new password counts at once) and a remembered success.
  if (cache && !password.empty()) {
    auto hit = co_await run_blocking(*services.workers, [&]() -> std::optional<LoginOutcome> {
      auto a = dir->find_account(login);
      if (!a || !a.value() || !a.value()->enabled) return std::nullopt;
      if (!cache->matches(a.value()->password_hash, password)) return std::nullopt;
      return LoginOutcome{LoginVerdict::Ok, a.value()->address(), false, true};
    });
    if (hit) {
      if (bans && bans->is_banned(ip)) co_return refused_banned(protocol, ip, session);
      co_return *hit;
    }
  }
  // Slow path: the password hash, on the pool that does nothing else.
  asio::thread_pool& pool = services.auth_workers ? *services.auth_workers : *services.workers;
  auto outcome = co_await run_blocking(pool, [&]() -> LoginOutcome {
    LoginOutcome out;
    auto r = dir->authenticate(login, password);
    if (!r.ok()) {
      out.verdict = r.error().code == Errc::Temp ? LoginVerdict::Temp : LoginVerdict::Failed;
      if (out.verdict == LoginVerdict::Temp) {
        spdlog::warn("{} auth temp-failure ip={} error={}", protocol, ip, log::quote(r.error().message));
        return out;
      }
    } else if (r->ok && r->account) {
      out.verdict = LoginVerdict::Ok;
      out.account = r->account->address();
      if (cache) cache->remember(r->account->password_hash, password);
      return out;
    }
    out.verdict = LoginVerdict::Failed;
    if (bans && bans->record_failure(ip, std::string(protocol) + " auth")) {
      out.banned = true;
      std::string key = bans->key(ip);
      std::size_t closed = 0;
      if (sessions) {
        closed = sessions->close_unauthenticated(
            [&](const std::string& other) { return bans->key(other) == key; }, session);
      }
      spdlog::warn("ban ip={} key={} protocol={} reason=auth-failures closed_sessions={}", ip, key, protocol,
                   closed);
    }
    return out;
  });
  // Banned while the hash was computed (another connection's failure).
  if (outcome.verdict == LoginVerdict::Ok && bans && bans->is_banned(ip))
    co_return refused_banned(protocol, ip, session);
  co_return outcome;
}

}  // namespace mailfort::server
