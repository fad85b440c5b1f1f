#include "proto/mime/preview.h"

#include <cctype>
#include <charconv>

#include "base/text.h"
#include "proto/mime/mime_internal.h"

namespace mailfort::proto::mime {
namespace {

// Bytes of one part's body read at most: enough for 200 characters after
// any transfer encoding and a generous HTML <head>.
constexpr std::size_t kMaxInput = 256 * 1024;
constexpr std::size_t kMaxDepth = 64;

bool is_attachment(const Part& p) {
  return iequals(p.disposition, "attachment");
}

bool readable(const Part& p) {
  return p.type == "text" && (p.subtype == "plain" || p.subtype == "html") && !is_attachment(p);
}

const Part* pick(const Part& p, std::size_t depth) {
  if (depth > kMaxDepth) return nullptr;
  if (p.is_multipart()) {
    if (p.subtype == "alternative")
      for (const auto& c : p.children)
        if (readable(c) && c.subtype == "plain") return &c;
    for (const auto& c : p.children)
      if (const Part* found = pick(c, depth + 1)) return found;
    return nullptr;
  }
  return readable(p) ? &p : nullptr;
}

bool starts_with_ci(std::string_view s, std::size_t at, std::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[at + i])) != word[i]) return false;
  return true;
}

// Position after the tag starting at `lt` ('<'), quotes inside respected.
std::size_t tag_end(std::string_view s, std::size_t lt) {
  char quote = 0;
  for (std::size_t i = lt + 1; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '>') {
      return i + 1;
    }
  }
  return s.size();
}

// "&name;" or "&#n;" at `amp`: appends the character and returns the
// position after it, or returns `amp` when it is not an entity we know.
std::size_t entity(std::string_view s, std::size_t amp, std::string& out) {
  auto semi = s.find(';', amp);
  if (semi == std::string_view::npos || semi - amp > 10) return amp;
  std::string_view name = s.substr(amp + 1, semi - amp - 1);
  if (!name.empty() && name[0] == '#') {
    uint32_t cp = 0;
    bool hex = name.size() > 1 && (name[1] == 'x' || name[1] == 'X');
    std::string_view digits = name.substr(hex ? 2 : 1);
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
    if (ec != std::errc() || p != digits.data() + digits.size() || cp == 0 || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return amp;
    append_utf8(out, static_cast<char32_t>(cp));
    return semi + 1;
  }
  static const struct {
    std::string_view name, text;
  } known[] = {{"amp", "&"},  {"lt", "<"},  {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
               {"nbsp", " "}, {"AMP", "&"}, {"LT", "<"}, {"GT", ">"},    {"QUOT", "\""}};
  for (const auto& k : known) {
    if (name == k.name) {
      out += k.text;
      return semi + 1;
    }
  }
  return amp;
}

// Appends `text` with control characters dropped and white space (ASCII
// and U+00A0) collapsed, up to `max_chars` characters in `out` (counted in
// `chars`). False once full.
bool append_collapsed(std::string& out, std::size_t& chars, std::string_view text, std::size_t max_chars) {
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > text.size()) break;
    bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' ||
                 (len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) == 0xA0);
    if (space) {
      if (!out.empty() && out.back() != ' ') {
        if (chars >= max_chars) return false;
        out += ' ';
        ++chars;
      }
    } else if (c >= 0x20 && c != 0x7f &&
               !(len == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)) {
      if (chars >= max_chars) return false;
      out.append(text.substr(i, len));
      ++chars;
    }
    i += len;
  }
  return true;
}

}  // namespace

std::string html_to_text(std::string_view s) {
  std::string out;
  out.reserve(std::min<std::size_t>(s.size(), 4096));
  for (std::size_t i = 0; i < s.size();) {
    char c = s[i];
    if (c == '&') {
      std::size_t next = entity(s, i, out);
      if (next == i) {
        out += '&';
        ++i;
      } else {
        i = next;
      }
      continue;
    }
    if (c != '<' || i + 1 >= s.size()) {
      out += c;
      ++i;
      continue;
    }
    char n = s[i + 1];
    if (starts_with_ci(s, i, "<!--")) {
      auto end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(n)) && n != '/' && n != '!' && n != '?') {
      out += c;  // a bare "<" in text
      ++i;
      continue;
    }
    // Elements whose content is not text.
    bool skipped = false;
    for (std::string_view el : {"head", "style", "script", "title"}) {
      if (starts_with_ci(s, i + 1, el)) {
        std::size_t after = i + 1 + el.size();
        if (after < s.size() && std::isalnum(static_cast<unsigned char>(s[after]))) continue;  // <header>
        std::string close = "</" + std::string(el);
        std::size_t k = tag_end(s, i);
        while (k < s.size() && !starts_with_ci(s, k, close)) ++k;
        i = k < s.size() ? tag_end(s, k) : s.size();
        skipped = true;
        break;
      }
    }
    if (skipped) {
      out += ' ';
      continue;
    }
    out += ' ';  // a tag separates words (<br>, </p>, <td>)
    i = tag_end(s, i);
  }
  return out;
}

std::string preview(std::string_view message, const Part& root, std::size_t max_chars) {
  const Part* p = pick(root, 0);
  if (!p || p->body_begin > p->body_end || p->body_end > message.size()) return {};
  std::string_view body = message.substr(p->body_begin, std::min(p->body_end - p->body_begin, kMaxInput));
  std::string decoded = decode_transfer(body, p->encoding).value_or(std::string(body));
  std::optional<std::string> text;
  if (const Param* cs = detail::find_param(p->params, "charset")) text = detail::to_utf8(decoded, cs->value);
  if (!text) {
    text.emplace();
    detail::append_valid_utf8(*text, decoded);
  }
  if (p->subtype == "html") text = html_to_text(*text);
  std::string out;
  std::size_t chars = 0;
  append_collapsed(out, chars, *text, max_chars);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

}  // namespace mailfort::proto::mime
