// Decoding: transfer encodings (BINARY), RFC 2047 encoded words, charsets
// to UTF-8, and the text SEARCH looks at.
#include <iconv.h>

#include <array>
#include <cerrno>
#include <cstdint>

#include "base/base64.h"
#include "base/text.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime {
namespace detail {
namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr char32_t kReplacement = 0xFFFD;

// windows-1252 0x80..0x9F (0 = unassigned). The ISO-8859-1 label is
// decoded as windows-1252 too: mail labelled latin-1 routinely carries
// its "smart quotes", and the C1 controls latin-1 would give are useless.
constexpr std::array<char16_t, 32> kCp1252High = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0,      0x017D, 0,      0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178};

char32_t cp1252(unsigned char c) {
  if (c < 0x80 || c >= 0xA0) return c;
  char16_t u = kCp1252High[c - 0x80];
  return u ? u : kReplacement;
}

char32_t latin9(unsigned char c) {
  switch (c) {
    case 0xA4:
      return 0x20AC;
    case 0xA6:
      return 0x0160;
    case 0xA8:
      return 0x0161;
    case 0xB4:
      return 0x017D;
    case 0xB8:
      return 0x017E;
    case 0xBC:
      return 0x0152;
    case 0xBD:
      return 0x0153;
    case 0xBE:
      return 0x0178;
    default:
      return c;
  }
}

enum class Charset { Utf8, Cp1252, Latin9, Other };

Charset classify(std::string_view lower) {
  for (std::string_view n : {"utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us"})
    if (lower == n) return Charset::Utf8;
  for (std::string_view n : {"iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
                             "windows-1252", "cp1252", "x-cp1252"})
    if (lower == n) return Charset::Cp1252;
  for (std::string_view n : {"iso-8859-15", "iso8859-15", "iso_8859-15", "latin9", "latin-9"})
    if (lower == n) return Charset::Latin9;
  return Charset::Other;
}

// glibc iconv for everything else. Only plain charset names reach it (no
// "//" suffixes, no paths), and only ever towards UTF-8.
std::optional<std::string> iconv_to_utf8(std::string_view bytes, const std::string& name) {
  if (name.empty() || name.size() > 40) return std::nullopt;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return std::nullopt;
  }
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return std::nullopt;
  std::string out;
  char buf[4096];
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* o = buf;
    std::size_t o_left = sizeof buf;
    std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    out.append(buf, static_cast<std::size_t>(o - buf));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (errno == E2BIG) continue;
    // EILSEQ / EINVAL: one undecodable byte.
    append_utf8(out, kReplacement);
    ++in;
    --in_left;
  }
  char* o = buf;
  std::size_t o_left = sizeof buf;
  iconv(cd, nullptr, nullptr, &o, &o_left);  // flush shift state
  out.append(buf, static_cast<std::size_t>(o - buf));
  iconv_close(cd);
  std::string valid;
  append_valid_utf8(valid, out);
  return valid;
}

// Decodes s[i..i+3) if it is "=XX"; returns the byte or -1.
int qp_escape(std::string_view s, std::size_t i) {
  if (i + 2 >= s.size()) return -1;
  int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

void append_valid_utf8(std::string& out, std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    }
    bool ok = len > 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) ok = false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
    if (!ok) {
      append_utf8(out, kReplacement);
      ++i;
      continue;
    }
    out.append(s.substr(i, len));
    i += len;
  }
}

std::optional<std::string> to_utf8(std::string_view bytes, std::string_view charset) {
  std::string name = to_lower(trim(charset));
  std::string out;
  switch (classify(name)) {
    case Charset::Utf8:
      append_valid_utf8(out, bytes);
      return out;
    case Charset::Cp1252:
      out.reserve(bytes.size());
      for (unsigned char c : bytes) append_utf8(out, cp1252(c));
      return out;
    case Charset::Latin9:
      out.reserve(bytes.size());
      for (unsigned char c : bytes) append_utf8(out, latin9(c));
      return out;
    case Charset::Other:
      break;
  }
  return iconv_to_utf8(bytes, name);
}

void qp_decode(std::string_view in, std::string& out, bool header) {
  if (header) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      int b = in[i] == '=' ? qp_escape(in, i) : -1;
      if (b >= 0) {
        out += static_cast<char>(b);
        i += 2;
      } else {
        out += in[i] == '_' ? ' ' : in[i];
      }
    }
    return;
  }
  std::size_t i = 0;
  while (i < in.size()) {
    std::size_t eol = in.find('\n', i);
    std::size_t end = eol == npos ? in.size() : eol;
    bool cr = eol != npos && end > i && in[end - 1] == '\r';
    if (cr) --end;
    // RFC 2045 6.7 (3): trailing blanks are transport padding.
    while (end > i && is_wsp(in[end - 1])) --end;
    bool soft = end > i && in[end - 1] == '=';
    if (soft) --end;
    std::string_view line = in.substr(i, end - i);
    for (std::size_t k = 0; k < line.size(); ++k) {
      int b = line[k] == '=' ? qp_escape(line, k) : -1;
      if (b >= 0) {
        out += static_cast<char>(b);
        k += 2;
      } else {
        out += line[k];
      }
    }
    // A hard line break is a CRLF (RFC 2045 6.7), also where the message
    // has a bare LF (as Dovecot decodes it).
    if (!soft && eol != npos) out += "\r\n";
    i = eol == npos ? in.size() : eol + 1;
  }
}

}  // namespace detail

std::optional<std::string> decode_transfer(std::string_view body, std::string_view encoding) {
  // An absent or malformed encoding is 7bit, as BODYSTRUCTURE reports it.
  auto token = detail::cte_token(encoding);
  if (!token) return std::string(body);
  std::string t = to_lower(*token);
  if (t == "7bit" || t == "8bit" || t == "binary") return std::string(body);
  std::string out;
  if (t == "base64") {
    out.reserve(body.size() / 4 * 3);
    base64::decode_lenient(body, out);
    return out;
  }
  if (t == "quoted-printable") {
    out.reserve(body.size());
    detail::qp_decode(body, out, false);
    return out;
  }
  return std::nullopt;
}

namespace {

struct EncodedWord {
  std::string_view charset, text;
  char encoding = 0;
  std::size_t end = 0;
};

// "=?charset?X?text?=" at s[p]. Charset names are short and blank-free.
std::optional<EncodedWord> encoded_word_at(std::string_view s, std::size_t p) {
  std::size_t q1 = s.find('?', p + 2);
  if (q1 == std::string_view::npos || q1 == p + 2 || q1 - (p + 2) > 75) return std::nullopt;
  EncodedWord w;
  w.charset = s.substr(p + 2, q1 - p - 2);
  for (char c : w.charset)
    if (detail::is_lwsp(c)) return std::nullopt;
  if (q1 + 2 >= s.size() || s[q1 + 2] != '?') return std::nullopt;
  w.encoding = s[q1 + 1];
  if (w.encoding != 'B' && w.encoding != 'b' && w.encoding != 'Q' && w.encoding != 'q') return std::nullopt;
  std::size_t q2 = s.find('?', q1 + 3);
  if (q2 == std::string_view::npos || q2 + 1 >= s.size() || s[q2 + 1] != '=') return std::nullopt;
  w.text = s.substr(q1 + 3, q2 - q1 - 3);
  w.end = q2 + 2;
  return w;
}

std::optional<std::string> decode_word(const EncodedWord& w) {
  std::string_view charset = w.charset;
  if (auto star = charset.find('*'); star != std::string_view::npos)
    charset = charset.substr(0, star);  // RFC 2231 language
  std::string bytes;
  if (w.encoding == 'B' || w.encoding == 'b')
    base64::decode_lenient(w.text, bytes);
  else
    detail::qp_decode(w.text, bytes, true);
  return detail::to_utf8(bytes, charset);
}

bool all_blank(std::string_view s) {
  for (char c : s)
    if (!detail::is_lwsp(c)) return false;
  return true;
}

}  // namespace

std::string decode_header_value(std::string_view raw) {
  std::string s = detail::unfold(raw);
  std::string_view sv = s;
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  bool after_word = false;
  while (i < sv.size()) {
    std::size_t p = sv.find("=?", i);
    if (p == std::string_view::npos) break;
    auto w = encoded_word_at(sv, p);
    std::optional<std::string> text;
    if (w) text = decode_word(*w);
    if (!text) {
      // Not an encoded word, or one we cannot decode: keep it as written.
      std::size_t to = w ? w->end : p + 2;
      detail::append_valid_utf8(out, sv.substr(i, to - i));
      i = to;
      after_word = false;
      continue;
    }
    std::string_view gap = sv.substr(i, p - i);
    if (!(after_word && all_blank(gap))) detail::append_valid_utf8(out, gap);
    out += *text;
    i = w->end;
    after_word = true;
  }
  if (i < sv.size()) detail::append_valid_utf8(out, sv.substr(i));
  return out;
}

std::optional<std::string> charset_to_utf8(std::string_view bytes, std::string_view charset) {
  return detail::to_utf8(bytes, charset);
}

std::string searchable_body(std::string_view message, const Part& root, std::size_t max_bytes) {
  std::string out;
  std::vector<const Part*> stack{&root};
  while (!stack.empty() && out.size() < max_bytes) {
    const Part* p = stack.back();
    stack.pop_back();
    if (!p->children.empty()) {
      for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
      continue;
    }
    if (p->type != "text" || p->body_begin > p->body_end || p->body_end > message.size()) continue;
    std::size_t room = max_bytes - out.size();
    // Decoding never shrinks more than 3:1 (quoted-printable), so this much
    // input is enough to fill the room; the rest would be cut anyway.
    std::string_view body = message.substr(p->body_begin, p->body_end - p->body_begin);
    if (room < body.size() / 3) body = body.substr(0, room * 3 + 16);
    std::string decoded = decode_transfer(body, p->encoding).value_or(std::string(body));
    std::optional<std::string> text;
    if (const Param* cs = detail::find_param(p->params, "charset"))
      text = detail::to_utf8(decoded, cs->value);
    if (!text) {
      text.emplace();
      detail::append_valid_utf8(*text, decoded);
    }
    if (!out.empty()) out += '\n';
    out += *text;
  }
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // whole characters only
    out.resize(cut);
  }
  return out;
}

std::string searchable_headers(std::string_view message, const Part& root, std::size_t max_bytes) {
  std::string out;
  std::vector<const Part*> stack{&root};
  while (!stack.empty() && out.size() < max_bytes) {
    const Part* p = stack.back();
    stack.pop_back();
    for (auto it = p->children.rbegin(); it != p->children.rend(); ++it) stack.push_back(&*it);
    if (p->header_begin > p->body_begin || p->body_begin > message.size()) continue;
    std::string_view header = message.substr(p->header_begin, p->body_begin - p->header_begin);
    detail::for_each_field(header, [&](const detail::HeaderField& f) {
      if (out.size() >= max_bytes) return false;
      if (!out.empty()) out += '\n';
      out += decode_header_value(header.substr(f.begin, f.end - f.begin));
      return true;
    });
  }
  if (out.size() > max_bytes) {
    std::size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::vector<std::string> header_values(std::string_view header_block, std::string_view name) {
  std::vector<std::string> values;
  detail::for_each_field(header_block, [&](const detail::HeaderField& f) {
    if (f.has_colon && iequals(f.name, name)) values.push_back(detail::unfold(f.raw));
    return true;
  });
  return values;
}

}  // namespace mailfort::proto::mime
