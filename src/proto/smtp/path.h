// MAIL FROM / RCPT TO argument parsing (RFC 5321 4.1.1.2-3, 4.1.2; RFC 6531
// SMTPUTF8; RFC 1870 SIZE; RFC 6152 8BITMIME; RFC 3030 BODY=BINARYMIME).
// Pure; faces untrusted input.
//
// Accepts what real clients send and nothing that could change routing:
// source routes (@a,@b:user@c) are parsed and dropped (RFC 5321 4.1.1.3 says
// ignore them), quoted local parts are unquoted, '%' and '!' are ordinary
// local-part characters (never routing), a second unquoted '@' is a syntax
// error, address literals are kept as such so the caller can refuse them.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::smtp {

struct Mailbox {
  std::string local;        // unquoted local part ("a b" for "\"a b\"@x")
  std::string domain;       // lower-cased for ASCII; "[1.2.3.4]" for address literals
  bool quoted = false;      // local part was a quoted-string
  bool ip_literal = false;  // domain is an address literal
  bool non_ascii = false;   // needs SMTPUTF8
  std::string str() const;  // local@domain, re-quoting the local part when needed
};

struct EsmtpParam {
  std::string keyword;  // upper-cased
  std::string value;    // as sent ("" when absent)
  bool has_value = false;
};

struct PathArgs {
  bool null_path = false;        // "<>" (MAIL only)
  bool postmaster_only = false;  // "<Postmaster>" without domain (RCPT only)
  Mailbox mailbox;
  std::vector<EsmtpParam> params;
};

enum class PathError {
  None,
  Syntax,      // 501 5.5.2 / 5.5.4: missing FROM:/TO:, no angle brackets
  BadAddress,  // 501 5.1.3 (RCPT) / 5.1.7 (MAIL): bad mailbox syntax
  BadParams,   // 501 5.5.4: malformed parameter list
  TooLong,     // 501 5.1.3: local part > 64 or domain > 255 octets
};

struct PathResult {
  PathError error = PathError::None;
  PathArgs args;
};

// `args` is the text after the verb ("FROM:<a@b> SIZE=10"); `keyword` is
// "FROM" or "TO". Tolerates spaces after the colon, as Postfix does.
PathResult parse_path_args(std::string_view args, std::string_view keyword);

// Parses "local@domain" (no brackets), e.g. a login name or an alias target.
std::optional<Mailbox> parse_mailbox(std::string_view text);

}  // namespace mailfort::proto::smtp
