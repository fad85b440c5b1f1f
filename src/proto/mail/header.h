// RFC 5322 header block helpers used on received messages: locate the end of
// the header, list fields, drop fields by name (submission privacy, S8), and
// check for a field. Pure; faces untrusted input (a message from the wire).
//
// Bounds: fields are found by a single linear scan; folded lines belong to
// the field above them; a header without a blank line ends at the end of the
// message (the whole message is header, as RFC 5322 allows).
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::mail {

struct HeaderField {
  std::string_view name;  // as written, without the colon
  std::size_t begin = 0;  // offset of the field's first byte
  std::size_t end = 0;    // offset just past its last line's CRLF
};

struct HeaderBlock {
  std::vector<HeaderField> fields;
  std::size_t body_offset = 0;  // first byte after the blank line (or size)
  bool malformed = false;       // a line that is neither field nor folding
};

// Lines end in CRLF (the SMTP layer guarantees it).
HeaderBlock parse_header_block(std::string_view message, std::size_t max_fields = 10000);

bool has_field(const HeaderBlock& h, std::string_view name);

// Copy of `message` without the fields whose names are in `drop`
// (case-insensitive). `prefix` is put in front (e.g. our Received).
std::string rewrite_header(std::string_view message, const HeaderBlock& h,
                           const std::vector<std::string_view>& drop, std::string_view prefix,
                           std::string_view append_to_header);

// Whether a field named one of `names` (case-insensitive, blanks before the
// colon allowed as RFC 5322 obs-optional does) stands in the rest of a
// malformed header: `rest` starts at the line parse_header_block stopped at
// (HeaderBlock::body_offset with `malformed`) and is read up to the first
// blank line. A receiver that reads on past the bad line may find such a
// field where we never looked.
bool hidden_field_after(std::string_view rest, const std::vector<std::string_view>& names);

// "Tue, 24 Nov 2026 03:33:23 +0000"
std::string rfc5322_date(long unix_seconds);

}  // namespace mailfort::proto::mail
