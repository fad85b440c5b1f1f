// Login checks shared by every protocol: password verification off the I/O
// threads (on its own pool, so Argon2id never delays mailbox work; recent
// successes answered from the AuthCache) and failure accounting for the
// ban service.
#pragma once
#include <asio/awaitable.hpp>

#include <string>

namespace mailfort::server {

struct Services;

enum class LoginVerdict { Ok, Failed, Temp };

struct LoginOutcome {
  LoginVerdict verdict = LoginVerdict::Failed;
  std::string account;  // canonical "user@domain" when Ok
  bool banned = false;  // this failure banned the client IP
  bool cached = false;  // Ok from the AuthCache, without hashing
};

asio::awaitable<LoginOutcome> check_login(Services& services, const char* protocol, const std::string& ip,
                                          const std::string& login, const std::string& password);

}  // namespace mailfort::server
