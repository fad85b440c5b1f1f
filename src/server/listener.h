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

class Connection;
struct Services;
class SessionRegistry;

// Runs one admitted connection's protocol session. The runtime does not know
// the protocols: serve() passes the dispatch (server/sessions.h) in.
using SessionRunner = asio::awaitable<void> (*)(std::shared_ptr<Connection> conn, Services& services,
                                                std::shared_ptr<const config::Config> cfg,
                                                const config::Listener& listener);

struct Listener {
  config::Listener cfg;
  asio::ip::tcp::acceptor acceptor;
};

// The longest command line a session on `l` reads: [limits]
// max_line_length, but at least 64 KiB for IMAP (Dovecot's
// imap_max_line_length: long UID sets and SEARCH programs are normal).
std::size_t line_limit(const config::Config& cfg, const config::Listener& l);

// Binds (as root, before privileges are dropped).
Result<std::unique_ptr<Listener>> bind_listener(asio::io_context& ctx, const config::Listener& cfg);

asio::awaitable<void> accept_loop(Listener& listener, Services& services, SessionRegistry& registry,
                                  std::vector<asio::io_context*> contexts, SessionRunner run_session);

}  // namespace mailfort::server
