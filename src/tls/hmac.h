// HMAC-SHA256 (OpenSSL stays in this folder): the verifier of URLAUTH's
// INTERNAL mechanism (RFC 4467) is one over the URL's rump. HMAC-SHA1 is
// what the Sender Rewriting Scheme hashes with (libsrs2 compatibility).
#pragma once
#include <string>
#include <string_view>

namespace mailfort::tls {

// The raw 32-byte MAC.
std::string hmac_sha256(std::string_view key, std::string_view data);
// The raw 20-byte MAC.
std::string hmac_sha1(std::string_view key, std::string_view data);
// Compares two MACs in time independent of where they differ.
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace mailfort::tls
