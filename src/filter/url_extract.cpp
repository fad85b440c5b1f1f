// URL extraction: see url_extract.h. Faces untrusted input (message text
// and HTML). One forward pass over the input: every byte is looked at a
// bounded number of times, so the cost is linear whatever the text is, and
// the result is bounded by max_urls (duplicates are counted once).
#include "filter/url_extract.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <unordered_set>

namespace mailfort::filter {
namespace {

constexpr std::size_t kMaxUrlText = 2048;
constexpr std::size_t kMaxHostBytes = 253;
// An authority longer than this is no host name (and is not decoded).
constexpr std::size_t kMaxAuthorityBytes = 1024;

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
bool is_high(char c) {
  return static_cast<unsigned char>(c) >= 0x80;
}
// A byte of a host name as it appears in text (UTF-8 IDN bytes included).
bool is_host_char(char c) {
  return is_alnum(c) || c == '-' || c == '.' || c == '_' || is_high(c);
}
// Where a URL in running text ends: white space, controls and the
// characters RFC 3986 never allows unescaped and text puts around URLs.
bool ends_url(char c) {
  auto u = static_cast<unsigned char>(c);
  return u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '`' || c == '\\' || c == '{' ||
         c == '}' || c == '|' || c == '^';
}

bool starts_with_ci(std::string_view s, std::size_t pos, std::string_view prefix) {
  if (s.size() - pos < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[pos + i]) != prefix[i]) return false;
  return true;
}

// The obfuscated dots "[.]", "(.)", "[dot]", "(dot)" at pos: their length, else 0.
std::size_t obfuscated_dot_at(std::string_view s, std::size_t pos) {
  for (std::string_view form : {"[.]", "(.)", "[dot]", "(dot)"})
    if (starts_with_ci(s, pos, form)) return form.size();
  return 0;
}

// A scheme at pos ("http", "https", "ftp" and the defanged "hxxp",
// "hxxps") followed by "://" or "[:]//": the offset just after it.
std::optional<std::size_t> scheme_end_at(std::string_view s, std::size_t pos) {
  for (std::string_view scheme : {"https", "http", "hxxps", "hxxp", "ftp"}) {
    if (!starts_with_ci(s, pos, scheme)) continue;
    std::size_t after = pos + scheme.size();
    if (starts_with_ci(s, after, "://")) return after + 3;
    if (starts_with_ci(s, after, "[:]//")) return after + 5;
  }
  return std::nullopt;
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Cuts trailing punctuation that belongs to the sentence, not the URL; a
// closing bracket stays when the URL opened it (wiki links).
std::string_view trim_trailing(std::string_view url) {
  long round = 0, square = 0;
  for (char c : url) {
    round += c == '(' ? 1 : c == ')' ? -1 : 0;
    square += c == '[' ? 1 : c == ']' ? -1 : 0;
  }
  while (!url.empty()) {
    char c = url.back();
    if (std::strchr(".,;:!?'*", c) != nullptr) {
      url.remove_suffix(1);
    } else if (c == ')' && round < 0) {
      ++round;
      url.remove_suffix(1);
    } else if (c == ']' && square < 0) {
      ++square;
      url.remove_suffix(1);
    } else {
      break;
    }
  }
  return url;
}

// ---- IDNA: UTF-8 labels to A-labels ("bücher" -> "xn--bcher-kva") ----
// Punycode (RFC 3492) with a small case folding (Latin-1, Greek, Cyrillic),
// not the whole UTS #46 mapping (libidn2 is not linked): enough for the
// names spam uses, which blocklists list as A-labels.

// The code points of a UTF-8 label; nullopt for invalid UTF-8.
std::optional<std::u32string> decode_utf8(std::string_view s) {
  std::u32string out;
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    int extra = b < 0x80 ? 0 : (b & 0xe0) == 0xc0 ? 1 : (b & 0xf0) == 0xe0 ? 2 : (b & 0xf8) == 0xf0 ? 3 : -1;
    if (extra < 0 || s.size() - i <= static_cast<std::size_t>(extra)) return std::nullopt;
    char32_t cp = extra == 0 ? b : b & (0x3f >> extra);
    for (int k = 1; k <= extra; ++k) {
      auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return std::nullopt;
      cp = (cp << 6) | (c & 0x3f);
    }
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
    out.push_back(cp);
    i += extra + 1;
  }
  return out;
}

char32_t fold_case(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 0x20;     // Latin-1
  if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) return c + 0x20;  // Greek
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;                // Cyrillic
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

char punycode_digit(uint32_t d) {
  return static_cast<char>(d < 26 ? 'a' + d : '0' + (d - 26));
}

uint32_t punycode_adapt(uint32_t delta, uint32_t points, bool first) {
  delta = first ? delta / 700 : delta / 2;
  delta += delta / points;
  uint32_t k = 0;
  while (delta > ((36 - 1) * 26) / 2) {
    delta /= 36 - 1;
    k += 36;
  }
  return k + (36 * delta) / (delta + 38);
}

// RFC 3492 section 6.3 (labels are short: the quadratic loop is bounded).
std::optional<std::string> punycode(const std::u32string& in) {
  constexpr uint32_t base = 36, tmin = 1, tmax = 26;
  std::string out;
  for (char32_t c : in)
    if (c < 0x80) out.push_back(static_cast<char>(c));
  uint32_t h = static_cast<uint32_t>(out.size()), b = h;
  if (b > 0) out.push_back('-');
  uint32_t n = 0x80, delta = 0, bias = 72;
  while (h < in.size()) {
    char32_t m = 0x10ffff;
    for (char32_t c : in)
      if (c >= n && c < m) m = c;
    if ((m - n) > (UINT32_MAX - delta) / (h + 1)) return std::nullopt;
    delta += (m - n) * (h + 1);
    n = m;
    for (char32_t c : in) {
      if (c < n && ++delta == 0) return std::nullopt;
      if (c != n) continue;
      uint32_t q = delta;
      for (uint32_t k = base;; k += base) {
        uint32_t t = k <= bias ? tmin : k >= bias + tmax ? tmax : k - bias;
        if (q < t) break;
        out.push_back(punycode_digit(t + (q - t) % (base - t)));
        q = (q - t) / (base - t);
      }
      out.push_back(punycode_digit(q));
      bias = punycode_adapt(delta, h + 1, h == b);
      delta = 0;
      ++h;
    }
    ++delta;
    ++n;
  }
  return out;
}

// Each label with non-ASCII bytes as its A-label; nullopt when a label is
// no valid UTF-8 or too long (the host is then left as written).
std::optional<std::string> to_a_labels(std::string_view host) {
  std::string out;
  while (true) {
    std::size_t dot = host.find('.');
    std::string_view label = host.substr(0, dot);
    if (std::any_of(label.begin(), label.end(), is_high)) {
      auto cps = decode_utf8(label);
      if (!cps) return std::nullopt;
      for (char32_t& c : *cps) c = fold_case(c);
      auto encoded = punycode(*cps);
      if (!encoded || encoded->size() + 4 > 63) return std::nullopt;
      out += "xn--" + *encoded;
    } else {
      out += label;
    }
    if (dot == std::string_view::npos) break;
    out.push_back('.');
    host.remove_prefix(dot + 1);
  }
  if (out.size() > kMaxHostBytes) return std::nullopt;
  return out;
}

// An IPv4 literal in any form inet_aton takes (dotted, decimal, octal,
// hex: http://3232235777/, http://0xc0.0xa8.1.1/), as a dotted quad.
std::optional<std::string> ipv4_literal(const std::string& host) {
  if (host.empty() || !is_digit(host[0])) return std::nullopt;
  for (char c : host)
    if (!is_digit(c) && !(c >= 'a' && c <= 'f') && c != 'x' && c != '.') return std::nullopt;
  in_addr a{};
  if (inet_aton(host.c_str(), &a) == 0) return std::nullopt;
  char buf[INET_ADDRSTRLEN];
  if (inet_ntop(AF_INET, &a, buf, sizeof buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

// The host of an authority (userinfo and port removed, %-escapes and
// obfuscated dots undone, ASCII lowercased), or nullopt when it is no
// plausible host. `bare`: found without a scheme, so a name must end in a
// letter label (not "1.5").
std::optional<Url> host_of(std::string_view authority, bool bare) {
  if (authority.size() > kMaxAuthorityBytes) return std::nullopt;
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  Url url;
  if (!authority.empty() && authority[0] == '[') {  // [IPv6]
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string v6(authority.substr(1, close - 1));
    unsigned char b[16];
    if (inet_pton(AF_INET6, v6.c_str(), b) != 1) return std::nullopt;
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, b, buf, sizeof buf);
    url.host = buf;
    url.ip_host = true;
    return url;
  }
  std::string host;
  for (std::size_t i = 0; i < authority.size();) {
    char c = authority[i];
    if (std::size_t n = obfuscated_dot_at(authority, i)) {
      host.push_back('.');
      i += n;
    } else if (c == '%' && i + 2 < authority.size() && hex_value(authority[i + 1]) >= 0 &&
               hex_value(authority[i + 2]) >= 0) {
      host.push_back(static_cast<char>(hex_value(authority[i + 1]) * 16 + hex_value(authority[i + 2])));
      i += 3;
    } else if (c == ':') {
      break;  // the port
    } else {
      host.push_back(lower(c));
      ++i;
    }
  }
  for (char& c : host) c = lower(c);  // %-decoded capitals
  while (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty() || host.size() > kMaxHostBytes) return std::nullopt;
  if (!bare) {
    if (auto v4 = ipv4_literal(host)) {
      url.host = *v4;
      url.ip_host = true;
      return url;
    }
  }
  for (char c : host)
    if (!is_host_char(c)) return std::nullopt;
  if (host.front() == '.' || host.find("..") != std::string::npos) return std::nullopt;
  if (std::any_of(host.begin(), host.end(), is_high)) {
    if (auto a_labels = to_a_labels(host)) host = std::move(*a_labels);
  }
  auto last_dot = host.rfind('.');
  if (last_dot == std::string::npos) return std::nullopt;  // "localhost", "foo"
  std::string_view tld = std::string_view(host).substr(last_dot + 1);
  bool tld_ok = std::any_of(tld.begin(), tld.end(), [](char c) { return is_alpha(c) || is_high(c); });
  if (!tld_ok) return std::nullopt;  // "1.5", a version number
  url.host = std::move(host);
  return url;
}

// A URL candidate (already trimmed) whose authority starts at host_begin.
std::optional<Url> make_url(std::string_view candidate, std::size_t host_begin, bool bare) {
  if (host_begin >= candidate.size()) return std::nullopt;
  std::string_view rest = candidate.substr(host_begin);
  std::string_view authority = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
  auto url = host_of(authority, bare);
  if (!url) return std::nullopt;
  url->text = std::string(candidate.substr(0, kMaxUrlText));
  return url;
}

// Collects distinct URLs up to max.
class Collector {
 public:
  explicit Collector(std::size_t max) : max_(max) {}
  bool full() const { return out_.size() >= max_; }
  void add(std::optional<Url> url) {
    if (!url || full()) return;
    if (!seen_.insert(url->text).second) return;
    out_.push_back(std::move(*url));
  }
  std::vector<Url> take() { return std::move(out_); }

 private:
  std::size_t max_;
  std::vector<Url> out_;
  std::unordered_set<std::string> seen_;
};

std::size_t url_end(std::string_view s, std::size_t pos) {
  while (pos < s.size() && !ends_url(s[pos])) ++pos;
  return pos;
}

// A run of host characters and obfuscated dots from pos: its end, and
// whether it had an obfuscated dot ("example[.]com").
std::size_t host_token_end(std::string_view s, std::size_t pos, bool& obfuscated) {
  obfuscated = false;
  while (pos < s.size()) {
    if (is_host_char(s[pos])) {
      ++pos;
    } else if (std::size_t n = obfuscated_dot_at(s, pos)) {
      obfuscated = true;
      pos += n;
    } else {
      break;
    }
  }
  return pos;
}

}  // namespace

std::vector<Url> extract_urls(std::string_view text, std::size_t max_urls) {
  Collector urls(max_urls);
  std::size_t i = 0;
  // Every iteration starts at a word boundary: runs of host characters
  // are consumed whole, so "xhttp://" or "awww." never start a URL.
  while (i < text.size() && !urls.full()) {
    if (auto after = scheme_end_at(text, i)) {
      std::size_t end = url_end(text, *after);
      std::string_view candidate = trim_trailing(text.substr(i, end - i));
      urls.add(make_url(candidate, *after - i, false));
      i = std::max(end, *after);
      continue;
    }
    if (starts_with_ci(text, i, "www.")) {
      std::size_t end = url_end(text, i);
      urls.add(make_url(trim_trailing(text.substr(i, end - i)), 0, true));
      i = std::max(end, i + 4);
      continue;
    }
    if (is_host_char(text[i])) {
      bool obfuscated = false;
      std::size_t token_end = host_token_end(text, i, obfuscated);
      if (obfuscated) {
        std::size_t end =
            (token_end < text.size() && text[token_end] == '/') ? url_end(text, token_end) : token_end;
        urls.add(make_url(trim_trailing(text.substr(i, end - i)), 0, true));
        token_end = std::max(end, token_end);
      }
      i = std::max(token_end, i + 1);
      continue;
    }
    ++i;
  }
  return urls.take();
}

namespace {

// Decodes the character references of an attribute value: &amp; &lt;
// &gt; &quot; &apos; &#NN; &#xHH; (ASCII results only: a URL's host is
// what matters, and the value is bounded by the caller).
std::string decode_entities(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size();) {
    if (v[i] != '&') {
      out.push_back(v[i++]);
      continue;
    }
    // References are short: looking no further keeps "&&&&..." linear.
    std::size_t semi = v.substr(i, 12).find(';');
    if (semi == std::string_view::npos) {
      out.push_back(v[i++]);
      continue;
    }
    semi += i;
    std::string_view name = v.substr(i + 1, semi - i - 1);
    long code = -1;
    if (name == "amp")
      code = '&';
    else if (name == "lt")
      code = '<';
    else if (name == "gt")
      code = '>';
    else if (name == "quot")
      code = '"';
    else if (name == "apos")
      code = '\'';
    else if (name == "period")
      code = '.';
    else if (name == "sol")
      code = '/';
    else if (name == "colon")
      code = ':';
    else if (name.size() >= 2 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      code = 0;
      std::string_view digits = name.substr(hex ? 2 : 1);
      for (char c : digits) {
        int d = hex ? hex_value(c) : (is_digit(c) ? c - '0' : -1);
        if (d < 0 || code > 0x10ffff) {
          code = -1;
          break;
        }
        code = code * (hex ? 16 : 10) + d;
      }
      if (digits.empty()) code = -1;
    }
    if (code > 0 && code < 0x80) {
      out.push_back(static_cast<char>(code));
      i = semi + 1;
    } else {
      out.push_back(v[i++]);
    }
  }
  return out;
}

bool is_url_attribute(std::string_view name) {
  for (std::string_view a : {"href", "src", "action", "background", "formaction"}) {
    if (name.size() != a.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < a.size() && same; ++i) same = lower(name[i]) == a[i];
    if (same) return true;
  }
  return false;
}

constexpr std::size_t kMaxAttributeValue = 8192;

void add_attribute_url(std::string_view raw_value, Collector& urls) {
  std::string value = decode_entities(raw_value.substr(0, kMaxAttributeValue));
  // Browsers drop tabs and line breaks inside URLs and trim spaces around.
  std::erase_if(value, [](char c) { return c == '\t' || c == '\n' || c == '\r'; });
  std::string_view v = value;
  while (!v.empty() && static_cast<unsigned char>(v.front()) <= 0x20) v.remove_prefix(1);
  while (!v.empty() && static_cast<unsigned char>(v.back()) <= 0x20) v.remove_suffix(1);
  v = v.substr(0, std::min(v.find(' '), v.size()));
  if (auto after = scheme_end_at(v, 0)) {
    urls.add(make_url(v, *after, false));
  } else if (v.starts_with("//")) {  // scheme-relative
    urls.add(make_url(v, 2, false));
  } else if (starts_with_ci(v, 0, "www.")) {
    urls.add(make_url(v, 0, true));
  }
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Reads one tag's attributes from pos (just after the tag name) to its
// '>': returns the offset after the tag.
std::size_t read_attributes(std::string_view html, std::size_t pos, Collector& urls) {
  const std::size_t n = html.size();
  while (pos < n) {
    while (pos < n && (is_space(html[pos]) || html[pos] == '/')) ++pos;
    if (pos >= n) break;
    if (html[pos] == '>') return pos + 1;
    std::size_t name_begin = pos;
    while (pos < n && !is_space(html[pos]) && html[pos] != '=' && html[pos] != '>' && html[pos] != '/') ++pos;
    std::string_view name = html.substr(name_begin, pos - name_begin);
    while (pos < n && is_space(html[pos])) ++pos;
    if (pos >= n || html[pos] != '=') {
      if (pos == name_begin) ++pos;  // a stray character: never loop in place
      continue;
    }
    ++pos;
    while (pos < n && is_space(html[pos])) ++pos;
    if (pos >= n) break;
    std::string_view value;
    if (html[pos] == '"' || html[pos] == '\'') {
      char quote = html[pos++];
      std::size_t close = html.find(quote, pos);
      if (close == std::string_view::npos) close = n;
      value = html.substr(pos, close - pos);
      pos = close < n ? close + 1 : n;
    } else {
      std::size_t begin = pos;
      while (pos < n && !is_space(html[pos]) && html[pos] != '>') ++pos;
      value = html.substr(begin, pos - begin);
    }
    if (is_url_attribute(name)) add_attribute_url(value, urls);
    if (urls.full()) return n;
  }
  return n;
}

}  // namespace

std::vector<Url> extract_html_urls(std::string_view html, std::size_t max_urls) {
  Collector urls(max_urls);
  const std::size_t n = html.size();
  std::size_t pos = 0;
  while (pos < n && !urls.full()) {
    std::size_t lt = html.find('<', pos);
    if (lt == std::string_view::npos) break;
    if (html.substr(lt).starts_with("<!--")) {
      std::size_t close = html.find("-->", lt + 4);
      pos = close == std::string_view::npos ? n : close + 3;
      continue;
    }
    pos = lt + 1;
    if (pos >= n || !is_alpha(html[pos])) continue;  // end tags, <!DOCTYPE>, "a < b"
    while (pos < n && is_alnum(html[pos])) ++pos;
    pos = read_attributes(html, pos, urls);
  }
  return urls.take();
}

}  // namespace mailfort::filter
