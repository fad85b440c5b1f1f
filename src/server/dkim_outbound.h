// Outbound DKIM signing: which key signs a message leaving the queue.
// Mail whose envelope sender domain (or, failing that, From domain) is a
// local domain with DKIM keys is signed with each active key (rsa and
// ed25519: dual signing, RFC 8463 section 4). Blocking (reads the key
// store and the directory, RSA signing): call it on the worker pool.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::directory {
class Directory;
}

namespace mailfort::server {

// The DKIM-Signature fields to prepend to `message` (empty when nothing
// signs it). Failures are logged and leave the message unsigned: a broken
// key must not hold mail in the queue.
std::string dkim_signatures(directory::Directory& dir, const std::string& data_dir, const std::string& sender,
                            std::string_view message, int64_t now);

// The domain of the first From address of a header block ("" if none).
std::string from_domain(std::string_view message);

}  // namespace mailfort::server
