// Building blocks shared by the MIME parser and its IMAP renderings: header
// field scanning, an RFC 5322 lexer (comments, quoted strings, atoms),
// Content-Type parsing and charset conversion. Internal to src/proto/mime.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/text.h"
#include "proto/mime/mime.h"

namespace mailfort::proto::mime::detail {

inline bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
inline bool is_lwsp(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// RFC 5322 atext, with 8-bit bytes counted as atext (UTF-8 and legacy
// 8-bit headers are common and must not break tokens apart).
using mailfort::is_atext;
// RFC 2045 token character (atext minus "/", "=", "?", plus ".").
bool is_token_char(unsigned char c);

// --- header fields ---------------------------------------------------------

struct HeaderField {
  std::size_t begin = 0;  // first byte of the field
  std::size_t end = 0;    // just past its last line's newline (or end of input)
  std::string_view name;  // before the colon, trailing blanks removed; whole line if no colon
  std::string_view raw;   // after the colon, leading blanks skipped, folds kept, final newline excluded
  bool has_colon = false;
};

// Position after a blank line at `pos` ("\r\n" or "\n"), or npos.
std::size_t blank_line_end(std::string_view s, std::size_t pos);
// Reads the field starting at line start `pos` (< s.size(), not blank) with
// its continuation lines.
HeaderField read_field(std::string_view s, std::size_t pos);

// Walks the fields of the header at the start of `s` until the blank line
// (or the end). Calls f(const HeaderField&) for each; stops early when f
// returns false.
template <typename F>
void for_each_field(std::string_view s, F&& f) {
  std::size_t pos = 0;
  while (pos < s.size() && blank_line_end(s, pos) == std::string_view::npos) {
    HeaderField field = read_field(s, pos);
    if (!f(field)) return;
    pos = field.end;
  }
}

std::string unfold(std::string_view raw);   // CR and LF removed
std::string_view trim(std::string_view s);  // SP, TAB, CR, LF at both ends

// --- RFC 5322 lexer ----------------------------------------------------------

// A cursor over a header value. Each method consumes what it reads. The
// return convention follows the grammar's needs: 1 = more input follows,
// 0 = at the end, -1 = syntax error (unterminated quote, comment, ...).
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  void advance() { ++pos_; }
  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t p) { pos_ = p; }
  std::string_view rest() const { return s_.substr(pos_ < s_.size() ? pos_ : s_.size()); }

  // Skips whitespace (folds included) and comments, remembering the text of
  // the last comment.
  int skip_cfws();
  // Quoted string at '"', unescaped, folds removed, appended to out.
  int quoted(std::string& out);
  int atom(std::string& out);      // 1*atext, then CFWS
  int dot_atom(std::string& out);  // atoms joined by '.', CFWS allowed around dots
  int token(std::string& out);     // RFC 2045 token, then CFWS
  // Phrase: words (atoms, dots, quoted strings) joined by single spaces.
  int phrase(std::string& out);
  // Domain at '@': dot-atom or [domain literal], appended to out.
  int domain(std::string& out);

  std::string last_comment;

 private:
  int atom_or_dots(std::string& out);

  std::string_view s_;
  std::size_t pos_ = 0;
};

// --- Content-Type and friends ------------------------------------------------

struct ContentType {
  std::string type, subtype;  // as written
  std::vector<Param> params;
};
// nullopt if the value is not "type/subtype".
std::optional<ContentType> parse_content_type(std::string_view value);
// "token *(; name=value)" (Content-Disposition); nullopt if no token.
std::optional<ContentType> parse_disposition(std::string_view value);
// Parameters after the type; lenient about unquoted values with tspecials.
void parse_params(Lexer& lx, std::vector<Param>& out);
// The Content-Transfer-Encoding token as written, or nullopt when the value
// is not a single token.
std::optional<std::string> cte_token(std::string_view value);
// Content-Language tags.
std::vector<std::string> language_tags(std::string_view value);

// Value of the first parameter called `name` (case-insensitive).
const Param* find_param(const std::vector<Param>& params, std::string_view name);

// --- line ends -----------------------------------------------------------------

// Appends s with each LF that is not preceded by CR (within s) made CRLF.
void append_crlf(std::string& out, std::string_view s);
// Size of s once bare LFs are CRLF.
std::size_t crlf_size(std::string_view s);
std::size_t count_lf(std::string_view s);

// --- charsets and encodings ---------------------------------------------------

// Converts bytes in `charset` to UTF-8. nullopt if the charset is unknown.
// UTF-8/US-ASCII input is validated: invalid sequences become U+FFFD.
std::optional<std::string> to_utf8(std::string_view bytes, std::string_view charset);
void append_valid_utf8(std::string& out, std::string_view s);

// base64 is base/base64.h's decode_lenient().
// Quoted-printable; `header` selects RFC 2047 Q rules ('_' is space, no
// line structure).
void qp_decode(std::string_view in, std::string& out, bool header);

}  // namespace mailfort::proto::mime::detail
