// MIME structure of a stored message (RFC 2045/2046/2047, RFC 5322) and the
// IMAP renderings built on it (RFC 3501 / RFC 9051): ENVELOPE,
// BODY/BODYSTRUCTURE, BODY[section], BINARY decoding and SEARCH text. The
// one parser the IMAP server uses. Pure: no I/O, never throws on what a
// message contains, faces untrusted input.
//
// Broken MIME is handled the way Dovecot handles it, so clients see the
// structure they already see from Dovecot servers:
//  - boundaries are matched by prefix ("--b" followed by anything), the
//    longest active boundary wins, an outer boundary also ends inner parts;
//  - a missing closing boundary makes the part end where its parent ends;
//  - a multipart without a boundary parameter keeps its type but has no
//    parts (BODYSTRUCTURE shows one empty text/plain part, BODY[1] is
//    empty); containers nested deeper than Limits::max_depth are leaves of
//    type text/plain;
//  - once Limits::max_parts parts exist no boundary is recognised any more:
//    the last part runs to the end of the message;
//  - Content-* fields count only in MIME parts (MIME-Version or Content-Type
//    present, or a child of a multipart); children of multipart/digest
//    without Content-Type are message/rfc822.
//
// Offsets in Part are byte offsets into the message exactly as given. Lines
// may end in CRLF or bare LF; IMAP output (section(), sizes in
// BODYSTRUCTURE) is what the message looks like with every bare LF turned
// into CRLF, as IMAP requires and as Dovecot sends it. For CRLF messages
// (everything SMTP delivers) the two are the same.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::mime {

struct Limits {
  std::size_t max_depth = 32;  // containers nested deeper become leaves; capped at 256
  std::size_t max_parts = 5000;
  std::size_t max_header_fields = 5000;  // per header; later fields are not interpreted
};

struct Param {
  std::string name;   // as written
  std::string value;  // unquoted; RFC 2231 continuations merged as Dovecot does
};

struct Part {
  std::size_t header_begin = 0;  // offset of this part's header in the message
  std::size_t body_begin = 0;    // just after the blank line ending the header (== header end)
  std::size_t body_end = 0;      // exclusive; for multipart children the CRLF before the
                                 // boundary line belongs to the boundary
  std::string type = "text", subtype = "plain";  // lowercased
  std::vector<Param> params;                     // Content-Type parameters
  // Raw header values (unfolded, trimmed); empty = absent.
  std::string id, description, encoding, md5, location;
  std::string disposition;  // the disposition token as written; empty = absent
  std::vector<Param> disposition_params;
  std::string language;   // raw Content-Language value
  std::size_t lines = 0;  // body line count (text/* and message/rfc822)
  // multipart: its parts; message/rfc822: exactly one child, the embedded
  // message (whose own children are its parts).
  std::vector<Part> children;

  bool is_multipart() const { return type == "multipart"; }
  bool is_message_rfc822() const { return children.size() == 1 && type == "message" && subtype == "rfc822"; }
};

// Never throws; iterative (no recursion on message content); linear in the
// message size times the (bounded) nesting depth.
Part parse(std::string_view message, const Limits& limits = {});

// IMAP ENVELOPE of the header at part.header_begin..part.body_begin, with
// its parentheses: ("date" "subject" (from) (sender) (reply-to) (to) (cc)
// (bcc) "in-reply-to" "message-id"). Pass the root or the child of a
// message/rfc822 part. Sender and Reply-To default to From; address headers
// that appear more than once are merged; at most 10000 addresses in all.
std::string imap_envelope(std::string_view message, const Part& part);

// BODYSTRUCTURE (extended) or BODY (not extended) of `part`, with its
// parentheses, in Dovecot's rendering: types and parameters as written,
// "text" "plain" and ("charset" "us-ascii") as defaults, "7bit" when the
// encoding is absent or invalid.
std::string imap_bodystructure(std::string_view message, const Part& part, bool extended);

enum class SectionKind { Full, Header, HeaderFields, HeaderFieldsNot, Text, Mime };
struct Section {
  std::vector<std::uint32_t> part;  // 1-based part numbers; empty = the message itself
  SectionKind kind = SectionKind::Full;
  std::vector<std::string> fields;  // for HeaderFields / HeaderFieldsNot
};

// Bytes of BODY[section] (RFC 3501 6.4.5, RFC 9051 6.4.5), CRLF line ends.
// HEADER/TEXT/HEADER.FIELDS with part numbers need a message/rfc822 part;
// MIME needs part numbers. nullopt if the part does not exist (or the
// section does not apply to it).
std::optional<std::string> section(std::string_view message, const Part& root, const Section& s);

// The part a section's numbers name (RFC 3501 6.4.5): a multipart's n-th
// part; "1" of a non-multipart is the part itself; numbers continuing past
// a message/rfc822 part go into the embedded message. nullptr if none.
const Part* find_part(const Part& root, const std::vector<std::uint32_t>& path);

// BINARY[path] (RFC 3516, RFC 9051 6.4.5) as Dovecot sends it: the part's
// body with its Content-Transfer-Encoding removed; for a multipart or
// message/rfc822 part (or the whole message, empty path, header included)
// the bytes as they are with every part inside in BINARY form, decoded
// parts' headers saying "Content-Transfer-Encoding: binary". CRLF line ends
// outside decoded data. nullopt if the part does not exist, or with
// unknown_cte set if an encoding inside is unknown ([UNKNOWN-CTE]).
std::optional<std::string> binary(std::string_view message, const Part& root,
                                  const std::vector<std::uint32_t>& path, bool& unknown_cte);

// `message` with every bare LF made CRLF.
std::string with_crlf(std::string_view message);

// Content-Transfer-Encoding decoding for BINARY. base64 ignores whitespace
// and stray characters; quoted-printable keeps malformed escapes as they
// are; 7bit/8bit/binary/absent pass through. `encoding` may be the raw
// header value. nullopt for an unknown encoding ([UNKNOWN-CTE]).
std::optional<std::string> decode_transfer(std::string_view body, std::string_view encoding);

// A message APPENDed as literal8 with its binary parts (Content-Transfer-
// Encoding: binary, not multipart) re-encoded as base64, as Dovecot stores
// them; unchanged when it has none (mime_binary.cpp).
std::string binary_parts_to_base64(std::string message);

// Bytes in `charset` (a MIME charset name) converted to UTF-8; invalid
// sequences become U+FFFD. nullopt for a charset we cannot convert.
std::optional<std::string> charset_to_utf8(std::string_view bytes, std::string_view charset);

// RFC 2047 encoded words (B and Q) of a header value decoded to UTF-8. The
// value is unfolded first; whitespace between adjacent encoded words is
// dropped; words in unknown charsets stay as written; invalid UTF-8 becomes
// U+FFFD.
std::string decode_header_value(std::string_view raw);

// Text for IMAP SEARCH BODY/TEXT: the bodies of text/* parts (embedded
// messages included) with their transfer encoding removed and converted to
// UTF-8 from their charset when it is known, joined with '\n', cut at
// max_bytes.
std::string searchable_body(std::string_view message, const Part& root, std::size_t max_bytes = 16 << 20);

// Text for IMAP SEARCH TEXT's header side: every header field of the
// message, its parts and embedded messages, each unfolded with its encoded
// words decoded ("Name: value"), joined with '\n', cut at max_bytes.
std::string searchable_headers(std::string_view message, const Part& root, std::size_t max_bytes = 16 << 20);

// Text for IMAP SEARCH FROM/TO/CC/BCC: an address field's value parsed as
// ENVELOPE parses it and written back normalised as Dovecot matches it
// ("name <route:local@domain>", "local@domain", "group: a@b, c@d;"),
// comments dropped (a lone comment after an addr-spec is its name), encoded
// words decoded.
std::string searchable_addresses(std::string_view raw);

// All values of the header field `name` (case-insensitive) in the header at
// the start of header_block, in order: what follows the colon, blanks on
// the first line skipped, line breaks of folds removed (the blanks that
// start continuation lines stay, as RFC 5322 unfolding says).
std::vector<std::string> header_values(std::string_view header_block, std::string_view name);

}  // namespace mailfort::proto::mime
