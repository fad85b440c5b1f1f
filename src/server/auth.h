// Login checks shared by every protocol: password verification off the I/O
// threads (on its own pool, so Argon2id never delays mailbox work; recent
// successes answered from the AuthCache) and failure accounting for the
// ban service. A banned client is refused before any password is looked at
// (also on connections opened before the ban), and the ban that a failure
// issues closes the client's other sessions that have not logged in.
#pragma once
#include <asio/awaitable.hpp>

#include <string>

namespace mailfort::server {

class Connection;
struct Services;

enum class LoginVerdict { Ok, Failed, Temp };

struct LoginOutcome {
  LoginVerdict verdict = LoginVerdict::Failed;
  std::string account;  // canonical "user@domain" when Ok
  bool banned = false;  // the client is banned (now or by this failure): reply, then close
  bool cached = false;  // Ok from the AuthCache, without hashing
};

// `conn`: the client's address and session. On Ok the session still has to
// call conn.mark_authenticated() once it really is logged in.
asio::awaitable<LoginOutcome> check_login(Services& services, const char* protocol, const Connection& conn,
                                          const std::string& login, const std::string& password);

}  // namespace mailfort::server
