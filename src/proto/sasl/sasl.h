// SASL PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login) decoding,
// shared by SMTP, IMAP, POP3 and ManageSieve; exchange.h runs a whole
// exchange on them. Pure; faces untrusted input.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::proto::sasl {

// Strict base64 (RFC 4648, padding required, no whitespace). nullopt on error.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

struct PlainCredentials {
  std::string authzid;  // usually empty
  std::string authcid;  // login name
  std::string password;
};
// Decoded PLAIN message "authzid\0authcid\0passwd". nullopt when malformed:
// not exactly two NULs, empty authcid or password, longer than 1024 bytes.
std::optional<PlainCredentials> parse_plain(std::string_view decoded);

}  // namespace mailfort::proto::sasl
