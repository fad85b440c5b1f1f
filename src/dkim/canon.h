// DKIM canonicalization (RFC 6376 3.4.2 relaxed header, 3.4.4 relaxed body)
// and the header-field splitting the signer needs. Pure functions over the
// bytes of a message as it goes on the wire (CRLF line ends); they face
// untrusted input (a forwarded message) and are linear in its size.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::dkim {

// One header field as it appears: name (as written) and the raw value after
// the colon, continuation lines and CRLFs included, the final CRLF excluded.
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

// Splits a message into its header fields and its body (after the empty
// line; empty when there is none). A line without a colon in the header
// block ends nothing but is skipped (it cannot be signed). Bare LF line
// ends are accepted as line ends too.
struct SplitMessage {
  std::vector<HeaderField> fields;
  std::string_view body;
};
SplitMessage split_message(std::string_view message);

// "Subject :  a\r\n\t b  " -> "subject:a b" (no CRLF appended).
std::string relaxed_header(std::string_view name, std::string_view value);

// Relaxed body: WSP runs -> one SP, WSP at line ends removed, empty lines
// at the end removed, a non-empty body ends in CRLF; an empty body stays
// empty (RFC 6376 errata 3192 / RFC 8463 behaviour of common verifiers).
std::string relaxed_body(std::string_view body);

}  // namespace mailfort::dkim
