// SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding,
// shared by SMTP, IMAP, POP3 and ManageSieve; exchange.h runs a whole
// exchange on them. Pure; faces untrusted input.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::proto::sasl {

// The base64 of SASL messages is base/base64.h's strict decode().

struct PlainCredentials {
  std::string authzid;  // usually empty
  std::string authcid;  // login name
  std::string password;
};
// Decoded PLAIN message "authzid\0authcid\0passwd". nullopt when malformed:
// not exactly two NULs, empty authcid or password, longer than 1024 bytes.
std::optional<PlainCredentials> parse_plain(std::string_view decoded);

}  // namespace mailfort::proto::sasl
