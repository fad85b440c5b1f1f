// ManageSieve (RFC 5804) session: users edit their Sieve scripts.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>

#include "base/config.h"

namespace mailfort::server {
class Connection;
struct Services;
}  // namespace mailfort::server

namespace mailfort::managesieve {

asio::awaitable<void> run_session(std::shared_ptr<server::Connection> conn, server::Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener);

}  // namespace mailfort::managesieve
