// SMTP command-line parsing (RFC 5321 section 4.1). Pure: takes one line
// (without CRLF, already bounded by the LineReader) and returns a typed
// command. Faces untrusted input; never throws on what the network sends.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::smtp {

enum class Verb {
  Helo,
  Ehlo,
  Mail,
  Rcpt,
  Data,
  Bdat,
  Rset,
  Noop,
  Quit,
  Vrfy,
  Expn,
  Help,
  Starttls,
  Auth,
  Unknown
};

struct Command {
  Verb verb = Verb::Unknown;
  std::string verb_text;  // as sent, upper-cased, max 16 chars (for logs and 500 replies)
  std::string args;       // everything after the verb and its single space; "" if none
};

// Never fails: an unrecognised verb is Verb::Unknown. A NUL byte or other
// control characters (except HTAB) anywhere make the verb Unknown too, so
// they reach the 500 path.
Command parse_command(std::string_view line);

// RFC 5321 4.1.1.1 / 4.1.3: EHLO/HELO argument is a domain (dot-atom of
// LDH labels) or an address literal ("[1.2.3.4]", "[IPv6:...]").
bool is_valid_helo_domain(std::string_view arg);
// A fully qualified domain: valid and with at least one dot, TLD not numeric.
bool is_fqdn(std::string_view domain);

// AUTH command argument: "MECHANISM [initial-response]".
struct AuthArgs {
  std::string mechanism;                        // upper-cased
  std::optional<std::string> initial_response;  // base64 text as sent; "=" means empty
};
std::optional<AuthArgs> parse_auth_args(std::string_view args);

}  // namespace mailfort::proto::smtp
