// Outbound DKIM signing: which key signs a message leaving the queue.
// Only mail that came in through authenticated submission is signed (also
// when an alias forwards it): mail received on the MX has a sender and a
// From chosen by a stranger, and a spoofed "From: ceo@our.domain" forwarded
// by an alias must not leave with our signature. The signing domain is the
// envelope sender's domain or, failing that, the From domain when it is the
// authenticated user's own; it must be local and have keys. Each active key
// signs (rsa and ed25519: dual signing, RFC 8463 section 4). Blocking
// (reads the key store and the directory, RSA signing): call it on the
// worker pool.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::directory {
class Directory;
}

namespace mailfort::outbound {

// The DKIM-Signature fields to prepend to `message` (empty when nothing
// signs it). Failures are logged and leave the message unsigned: a broken
// key must not hold mail in the queue.
std::string dkim_signatures(directory::Directory& dir, const std::string& data_dir, const std::string& sender,
                            const std::string& authenticated_user, std::string_view message, int64_t now);

// The domain of the first From address of a header block ("" if none).
std::string from_domain(std::string_view message);

}  // namespace mailfort::outbound
