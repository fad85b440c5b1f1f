// Header fields, the RFC 5322 lexer and Content-* value parsing.
#include <algorithm>
#include <cstring>

#include "base/text.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime::detail {
namespace {

constexpr std::size_t npos = std::string_view::npos;
// A header value cannot carry more parameters than this; keeps the output
// of a hostile "a=1;a=1;..." proportional and small.
constexpr std::size_t kMaxParams = 256;
constexpr std::size_t kMaxLanguages = 64;

// Advances to the next ';' outside a quoted string (or the end).
void skip_to_semicolon(Lexer& lx) {
  bool quoted = false;
  while (!lx.at_end()) {
    char c = lx.peek();
    if (quoted && c == '\\') {
      lx.advance();
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ';' && !quoted) {
      return;
    }
    lx.advance();
  }
}

// RFC 2231 parameter continuations ("name*0", "name*1*", "name*"), merged
// the way Dovecot merges them so BODYSTRUCTURE shows the same parameters:
// plain parameters first in their order, then each continued parameter
// once, in name order, its segments joined ("name" or, when any segment is
// extended, "name*" with the charset''language prefix kept as written).
// A continued parameter with a missing or repeated index is left split.
void merge_rfc2231(std::vector<Param>& params) {
  struct Segment {
    std::string name;
    unsigned idx = 0;
    bool extended = false;
    std::string value;
  };
  std::vector<Param> plain;
  std::vector<Segment> segs;
  for (Param& p : params) {
    std::size_t star = p.name.find('*');
    bool valid = false;
    Segment seg;
    if (star != std::string::npos && star > 0) {
      std::size_t i = star + 1;
      if (i == p.name.size()) seg.extended = true;  // "name*": one extended value
      while (i < p.name.size() && p.name[i] >= '0' && p.name[i] <= '9' && seg.idx < 100000)
        seg.idx = seg.idx * 10 + static_cast<unsigned>(p.name[i++] - '0');
      if (i < p.name.size() && p.name[i] == '*') {
        seg.extended = true;
        ++i;
      }
      valid = i == p.name.size();
    }
    if (!valid) {
      plain.push_back(std::move(p));
      continue;
    }
    seg.name = p.name.substr(0, star);
    seg.value = std::move(p.value);
    segs.push_back(std::move(seg));
  }
  if (segs.empty()) {
    params = std::move(plain);
    return;
  }
  std::stable_sort(segs.begin(), segs.end(), [](const Segment& a, const Segment& b) {
    return a.name != b.name ? a.name < b.name : a.idx < b.idx;
  });
  for (std::size_t i = 0, next = 0; i < segs.size(); i = next) {
    bool ok = true, extended = false;
    unsigned want = 0;
    for (next = i; next < segs.size() && iequals(segs[i].name, segs[next].name); ++next) {
      if (segs[next].idx != want++) ok = false;
      if (segs[next].extended) extended = true;
    }
    if (!ok) {
      for (std::size_t j = i; j < next; ++j)
        plain.push_back({segs[j].name + "*" + std::to_string(segs[j].idx) + (segs[j].extended ? "*" : ""),
                         std::move(segs[j].value)});
      continue;
    }
    Param merged{segs[i].name + (extended ? "*" : ""), ""};
    if (extended && !segs[i].extended) merged.value = "''";
    for (std::size_t j = i; j < next; ++j) {
      if (extended && !segs[j].extended) {
        for (char c : segs[j].value) merged.value += c == '%' ? std::string("%25") : std::string(1, c);
      } else {
        merged.value += segs[j].value;
      }
    }
    plain.push_back(std::move(merged));
  }
  params = std::move(plain);
}

}  // namespace

bool is_token_char(unsigned char c) {
  if (c == '.') return true;
  return is_atext(c) && c != '/' && c != '=' && c != '?';
}

std::size_t blank_line_end(std::string_view s, std::size_t pos) {
  if (pos < s.size() && s[pos] == '\n') return pos + 1;
  if (pos + 1 < s.size() && s[pos] == '\r' && s[pos + 1] == '\n') return pos + 2;
  return npos;
}

HeaderField read_field(std::string_view s, std::size_t pos) {
  HeaderField f;
  f.begin = pos;
  std::size_t eol = s.find('\n', pos);
  std::size_t first_end = eol == npos ? s.size() : eol;
  std::size_t colon = s.substr(pos, first_end - pos).find(':');
  // Continuation lines start with a blank.
  std::size_t last_eol = eol;
  std::size_t next = eol == npos ? s.size() : eol + 1;
  while (next < s.size() && is_wsp(s[next])) {
    last_eol = s.find('\n', next);
    next = last_eol == npos ? s.size() : last_eol + 1;
  }
  f.end = next;
  // The value stops before the final newline (CRLF or LF).
  std::size_t content_end = last_eol == npos ? s.size() : last_eol;
  if (last_eol != npos && content_end > pos && s[content_end - 1] == '\r') --content_end;

  if (colon == npos) {
    std::size_t name_end = first_end;
    if (eol != npos && name_end > pos && s[name_end - 1] == '\r') --name_end;
    f.name = s.substr(pos, name_end - pos);
    return f;
  }
  f.has_colon = true;
  std::size_t name_end = pos + colon;
  while (name_end > pos && is_wsp(s[name_end - 1])) --name_end;
  f.name = s.substr(pos, name_end - pos);
  std::size_t v = pos + colon + 1;
  while (v < content_end && is_wsp(s[v])) ++v;
  if (v > content_end) v = content_end;
  f.raw = s.substr(v, content_end - v);
  return f;
}

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw)
    if (c != '\r' && c != '\n') out += c;
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_lwsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_lwsp(s.back())) s.remove_suffix(1);
  return s;
}

// --- Lexer -------------------------------------------------------------------

int Lexer::skip_cfws() {
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (is_lwsp(c)) {
      ++pos_;
      continue;
    }
    if (c != '(') break;
    // A comment; nesting is counted, not recursed into.
    last_comment.clear();
    std::size_t depth = 1;
    std::size_t start = ++pos_;
    bool closed = false;
    while (pos_ < s_.size()) {
      c = s_[pos_];
      if (c == '(') {
        ++depth;
      } else if (c == ')') {
        if (--depth == 0) {
          last_comment.append(s_.substr(start, pos_ - start));
          ++pos_;
          closed = true;
          break;
        }
      } else if (c == '\\') {
        last_comment.append(s_.substr(start, pos_ - start));
        start = ++pos_;  // the escaped byte is kept
        if (pos_ >= s_.size()) return -1;
      }
      ++pos_;
    }
    if (!closed) return -1;
  }
  return pos_ < s_.size() ? 1 : 0;
}

int Lexer::quoted(std::string& out) {
  std::size_t start = ++pos_;
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (c == '"') {
      out.append(s_.substr(start, pos_ - start));
      ++pos_;
      return skip_cfws();
    }
    if (c == '\n') {  // a fold inside the string: drop the line break
      std::size_t len = pos_ - start;
      if (len > 0 && s_[pos_ - 1] == '\r') --len;
      out.append(s_.substr(start, len));
      start = pos_ + 1;
    } else if (c == '\\') {
      out.append(s_.substr(start, pos_ - start));
      start = ++pos_;
      if (pos_ >= s_.size()) return -1;
    }
    ++pos_;
  }
  out.append(s_.substr(start));
  return -1;
}

int Lexer::atom(std::string& out) {
  if (at_end() || !is_atext(static_cast<unsigned char>(peek()))) return -1;
  std::size_t start = pos_;
  while (pos_ < s_.size() && is_atext(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  out.append(s_.substr(start, pos_ - start));
  return skip_cfws();
}

int Lexer::dot_atom(std::string& out) {
  if (at_end() || !is_atext(static_cast<unsigned char>(peek()))) return -1;
  for (;;) {
    std::size_t start = pos_;
    while (pos_ < s_.size() && is_atext(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    out.append(s_.substr(start, pos_ - start));
    int r = skip_cfws();
    if (r <= 0) return r;
    if (peek() != '.') return 1;
    ++pos_;
    out += '.';
    r = skip_cfws();
    if (r <= 0) return r;
  }
}

int Lexer::token(std::string& out) {
  std::size_t start = pos_;
  while (pos_ < s_.size() && is_token_char(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  out.append(s_.substr(start, pos_ - start));
  return skip_cfws();
}

int Lexer::atom_or_dots(std::string& out) {
  std::size_t start = pos_;
  while (pos_ < s_.size() && (is_atext(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.')) ++pos_;
  out.append(s_.substr(start, pos_ - start));
  return skip_cfws();
}

int Lexer::phrase(std::string& out) {
  if (at_end()) return 0;
  if (peek() == '.') return -1;
  for (;;) {
    int r = peek() == '"' ? quoted(out) : atom_or_dots(out);
    if (r <= 0) return r;
    unsigned char c = static_cast<unsigned char>(peek());
    if (!is_atext(c) && c != '"' && c != '.') break;
    out += ' ';
  }
  return skip_cfws();
}

int Lexer::domain(std::string& out) {
  ++pos_;  // '@'
  if (skip_cfws() <= 0) return -1;
  if (peek() != '[') return dot_atom(out);
  std::size_t start = pos_;
  while (pos_ < s_.size()) {
    char c = s_[pos_];
    if (c == '\\') {
      ++pos_;
    } else if (c == ']') {
      ++pos_;
      out.append(s_.substr(start, pos_ - start));
      return skip_cfws();
    }
    ++pos_;
  }
  return -1;
}

// --- Content-* values --------------------------------------------------------

void parse_params(Lexer& lx, std::vector<Param>& out) {
  std::size_t count = 0;
  while (count < kMaxParams) {
    if (lx.skip_cfws() <= 0 || lx.peek() != ';') return;
    lx.advance();
    if (lx.skip_cfws() <= 0) return;
    if (lx.peek() == ';') continue;  // "a;;b": an empty parameter
    Param p;
    lx.token(p.name);
    if (p.name.empty() || lx.peek() != '=') {
      skip_to_semicolon(lx);
      continue;
    }
    lx.advance();
    if (lx.skip_cfws() > 0) {
      if (lx.peek() == '"') {
        lx.quoted(p.value);
      } else {
        // Unquoted values often carry tspecials ("boundary=----=_Part_1");
        // take everything up to the next separator.
        std::string_view rest = lx.rest();
        std::size_t n = 0;
        while (n < rest.size() && rest[n] != ';' && rest[n] != '(' && !is_lwsp(rest[n])) ++n;
        p.value.assign(rest.substr(0, n));
        lx.set_pos(lx.pos() + n);
      }
    }
    out.push_back(std::move(p));
    ++count;
  }
}

std::optional<ContentType> parse_content_type(std::string_view value) {
  Lexer lx(value);
  if (lx.skip_cfws() <= 0) return std::nullopt;
  ContentType ct;
  lx.token(ct.type);
  if (ct.type.empty() || lx.peek() != '/') return std::nullopt;
  lx.advance();
  if (lx.skip_cfws() <= 0) return std::nullopt;
  lx.token(ct.subtype);
  if (ct.subtype.empty()) return std::nullopt;
  parse_params(lx, ct.params);
  merge_rfc2231(ct.params);
  return ct;
}

std::optional<ContentType> parse_disposition(std::string_view value) {
  Lexer lx(value);
  if (lx.skip_cfws() <= 0) return std::nullopt;
  ContentType d;
  lx.token(d.type);
  if (d.type.empty()) return std::nullopt;
  parse_params(lx, d.params);
  merge_rfc2231(d.params);
  return d;
}

std::optional<std::string> cte_token(std::string_view value) {
  Lexer lx(value);
  if (lx.skip_cfws() <= 0) return std::nullopt;
  std::string t;
  lx.token(t);
  if (t.empty() || !lx.at_end()) return std::nullopt;
  return t;
}

std::vector<std::string> language_tags(std::string_view value) {
  std::vector<std::string> tags;
  Lexer lx(value);
  lx.skip_cfws();
  while (tags.size() < kMaxLanguages) {
    std::string tag;
    if (lx.atom(tag) < 0) break;
    tags.push_back(std::move(tag));
    if (lx.peek() != ',') break;
    lx.advance();
    lx.skip_cfws();
  }
  return tags;
}

const Param* find_param(const std::vector<Param>& params, std::string_view name) {
  for (const Param& p : params)
    if (iequals(p.name, name)) return &p;
  return nullptr;
}

// --- line ends -----------------------------------------------------------------

void append_crlf(std::string& out, std::string_view s) {
  std::size_t i = 0;
  for (;;) {
    std::size_t p = s.find('\n', i);
    if (p == npos) {
      out.append(s.substr(i));
      return;
    }
    if (p > 0 && s[p - 1] == '\r') {
      out.append(s.substr(i, p + 1 - i));
    } else {
      out.append(s.substr(i, p - i));
      out += "\r\n";
    }
    i = p + 1;
  }
}

std::size_t crlf_size(std::string_view s) {
  std::size_t n = s.size();
  for (std::size_t p = s.find('\n'); p != npos; p = s.find('\n', p + 1))
    if (p == 0 || s[p - 1] != '\r') ++n;
  return n;
}

std::size_t count_lf(std::string_view s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace mailfort::proto::mime::detail
