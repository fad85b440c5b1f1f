// DKIM canonicalization (RFC 6376 3.4.1/3.4.2 simple and relaxed header,
// 3.4.3/3.4.4 simple and relaxed body, the body also as a stream) and the
// header-field splitting the signer and the verifier need. Pure functions over the
// bytes of a message as it goes on the wire (CRLF line ends); they face
// untrusted input (a forwarded message) and are linear in its size.
#pragma once
#include <cstddef>
#include <functional>
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

// Simple header: the field exactly as it came, "Name:value" (no CRLF).
std::string simple_header(std::string_view name, std::string_view value);

// Simple body: empty lines at the end removed, the body ends in CRLF (an
// empty body becomes one CRLF).
std::string simple_body(std::string_view body);

// Relaxed body: WSP runs -> one SP, WSP at line ends removed, empty lines
// at the end removed, a non-empty body ends in CRLF; an empty body stays
// empty (RFC 6376 errata 3192 / RFC 8463 behaviour of common verifiers).
std::string relaxed_body(std::string_view body);

// Either body canonicalization over a body that arrives in chunks split
// anywhere (a CRLF may straddle two chunks): same output as simple_body() /
// relaxed_body() on the whole body. Empty lines are held back as a count
// until a non-empty line shows they were not trailing, so memory stays
// constant whatever the body. Line ends: CRLF, and bare LF as in
// split_message(); a CR not before LF is an ordinary octet.
class BodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;
  BodyCanonicalizer(bool relaxed, Sink sink);

  void feed(std::string_view chunk);
  // After the last chunk; the canonicalizer is spent afterwards.
  void finish();

 private:
  void put(char c);
  void line_end();
  void content_starts();
  void flush();

  bool relaxed_;
  Sink sink_;
  std::string out_;                // canonical bytes not yet handed to the sink
  bool cr_pending_ = false;        // a CR was the last octet seen
  bool line_has_content_ = false;  // relaxed: a non-WSP octet; simple: any octet
  bool space_pending_ = false;     // relaxed: WSP seen since the last content
  std::size_t empty_lines_ = 0;    // empty lines not yet known to be inner ones
  bool wrote_any_ = false;
};

}  // namespace mailfort::dkim
