#include "server/auth.h"

#include <spdlog/spdlog.h>

#include "base/log.h"
#include "directory/directory.h"
#include "policy/ban_service.h"
#include "server/blocking.h"
#include "server/services.h"

namespace mailfort::server {

asio::awaitable<LoginOutcome> check_login(Services& services, const char* protocol, const std::string& ip,
                                          const std::string& login, const std::string& password) {
  auto* dir = services.directory.get();
  auto* bans = services.bans.get();
  co_return co_await run_blocking(*services.workers, [&]() -> LoginOutcome {
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
