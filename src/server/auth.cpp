#include "server/auth.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "base/log.h"
#include "directory/auth_cache.h"
#include "directory/directory.h"
#include "policy/ban_service.h"
#include "server/blocking.h"
#include "server/services.h"

namespace mailfort::server {

asio::awaitable<LoginOutcome> check_login(Services& services, const char* protocol, const std::string& ip,
                                          const std::string& login, const std::string& password) {
  auto* dir = services.directory.get();
  auto* bans = services.bans.get();
  auto* cache = services.auth_cache.get();
  // Fast path on the general pool: the account row (fresh, so a disabled
  // account or a new password counts at once) and a remembered success.
  if (cache && !password.empty()) {
    auto hit = co_await run_blocking(*services.workers, [&]() -> std::optional<LoginOutcome> {
      auto a = dir->find_account(login);
      if (!a || !a.value() || !a.value()->enabled) return std::nullopt;
      if (!cache->matches(a.value()->password_hash, password)) return std::nullopt;
      return LoginOutcome{LoginVerdict::Ok, a.value()->address(), false, true};
    });
    if (hit) co_return *hit;
  }
  // Slow path: the password hash, on the pool that does nothing else.
  asio::thread_pool& pool = services.auth_workers ? *services.auth_workers : *services.workers;
  co_return co_await run_blocking(pool, [&]() -> LoginOutcome {
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
      spdlog::warn("ban ip={} protocol={} reason=auth-failures", ip, protocol);
    }
    return out;
  });
}

}  // namespace mailfort::server
