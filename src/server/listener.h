// Listener: the accept loop of one configured [[listener]] and connection
// admission (bans, connection caps) before a protocol session starts.
// Accepted sockets are spread round-robin over the I/O contexts (one per core).
#pragma once
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <vector>

#include "base/config.h"
#include "base/result.h"

namespace mailfort::server {

struct Services;
class SessionRegistry;

struct Listener {
  config::Listener cfg;
  asio::ip::tcp::acceptor acceptor;
};

// Binds (as root, before privileges are dropped).
Result<std::unique_ptr<Listener>> bind_listener(asio::io_context& ctx, const config::Listener& cfg);

asio::awaitable<void> accept_loop(Listener& listener, Services& services, SessionRegistry& registry,
                                  std::vector<asio::io_context*> contexts);

}  // namespace mailfort::server
