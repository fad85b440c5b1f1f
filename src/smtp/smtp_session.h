// SMTP server session (RFC 5321) for the smtp (MX), submission and
// implicit-TLS submission listeners: greeting, EHLO/HELO, STARTTLS
// (RFC 3207), AUTH PLAIN/LOGIN (RFC 4954) over TLS, mail transactions with
// DATA or BDAT (RFC 3030), pipelining (RFC 2920). What a listener accepts is
// its policy's (smtp_policy.h). Faces untrusted input: every read has a
// deadline and a bounded line.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>

#include "base/config.h"

namespace mailfort::server {
class Connection;
struct Services;
}  // namespace mailfort::server

namespace mailfort::smtp {

asio::awaitable<void> run_session(std::shared_ptr<server::Connection> conn, server::Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener);

}  // namespace mailfort::smtp
