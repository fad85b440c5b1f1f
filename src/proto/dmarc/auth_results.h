// Authentication-Results header field values (RFC 8601 2.2), as written by
// others: the authserv-id (to remove headers that claim ours, RFC 8601 5)
// and the resinfo list (to read dmarc=pass out of the oldest
// ARC-Authentication-Results of a trusted forwarder). Pure; faces untrusted
// input. Comments (nested, bounded depth), folding whitespace, quoted
// strings, method versions ("dkim/1"), reason= and ptype.property=value are
// read; a value that breaks the grammar keeps the authserv-id found before
// the error. Bounds: one linear pass, at most `max_results` resinfo and
// `max_properties` properties each.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::dmarc {

struct AuthProperty {
  std::string ptype;     // "smtp", "header", "body", "policy" (lower case)
  std::string property;  // "mailfrom", "d", "from" (lower case)
  std::string value;     // as written, quotes removed
};

struct AuthResult {
  std::string method;   // lower case: "spf", "dkim", "dmarc", "arc"
  std::string version;  // method version ("1"), usually ""
  std::string result;   // lower case: "pass", "fail", ...
  std::string reason;   // reason= value, "" when absent
  std::vector<AuthProperty> properties;
};

struct AuthResultsLimits {
  std::size_t max_results = 64;
  std::size_t max_properties = 32;
  std::size_t max_comment_depth = 8;
};

struct AuthResults {
  bool ok = false;          // the whole value follows the grammar
  std::string authserv_id;  // "" when not even that could be read
  std::string version;      // authres-version, "" when absent
  bool none = false;        // the no-result form "; none"
  std::vector<AuthResult> results;
  std::string error;  // what broke the grammar, when !ok
};

// `value` is the field body after the colon (folds included, a final CRLF
// allowed).
AuthResults parse_auth_results(std::string_view value, const AuthResultsLimits& limits = {});

// The result of the first resinfo with `method` (lower case), if any.
std::optional<std::string> result_of(const AuthResults& ar, std::string_view method);

}  // namespace mailfort::proto::dmarc
