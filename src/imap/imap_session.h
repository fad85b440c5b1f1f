// IMAP4rev2/IMAP4rev1 session (RFC 9051, RFC 3501 and the extensions in
// CAPABILITY). Commands come from the pure parser in proto/imap; handlers
// talk to the mailbox store (store::UserMailbox) only.
#pragma once
#include <asio/awaitable.hpp>

#include <memory>

#include "base/config.h"

namespace mailfort::server {
class Connection;
struct Services;
}  // namespace mailfort::server

namespace mailfort::imap {

// One IMAP connection on `listener`, from the greeting (after the TLS
// handshake on an implicit-TLS listener) to its end.
asio::awaitable<void> run_session(std::shared_ptr<server::Connection> conn, server::Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener);

}  // namespace mailfort::imap
