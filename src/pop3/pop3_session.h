// POP3 session over the same mailbox store as IMAP.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>

#include "base/config.h"

namespace mailfort::server {

class Connection;
struct Services;

asio::awaitable<void> run_pop3_session(std::shared_ptr<Connection> conn, Services& services,
                                       std::shared_ptr<const config::Config> cfg, const config::Listener& listener);

}  // namespace mailfort::server
