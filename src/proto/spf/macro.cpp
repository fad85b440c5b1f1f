#include "proto/spf/macro.h"

#include <algorithm>
#include <string>
#include <vector>

#include "proto/spf/record.h"

namespace mailfort::proto::spf {
namespace {

// Past this the left part of a domain-spec expansion is dropped while it is
// built: 7.3 truncation only ever keeps the rightmost 253 octets.
constexpr std::size_t kDomainWorkLimit = 4096;
constexpr std::size_t kDomainKeep = 1024;
// A digit transformer larger than any possible number of parts.
constexpr unsigned kMaxParts = 1024;

bool is_delimiter(char c) {
  return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

bool is_unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string url_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// Split on any of `delims`, reverse if asked, keep the rightmost `keep`
// parts (0 = all), join with '.' (7.3).
std::string transform(std::string_view value, std::string_view delims, unsigned keep, bool reverse) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delims.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (reverse) std::reverse(parts.begin(), parts.end());
  std::size_t first = keep != 0 && keep < parts.size() ? parts.size() - keep : 0;
  std::string out;
  for (std::size_t i = first; i < parts.size(); ++i) {
    if (i != first) out.push_back('.');
    out.append(parts[i]);
  }
  return out;
}

// Keeps the rightmost labels that fit in 253 octets (7.3).
void truncate_left(std::string& s) {
  if (s.size() <= kMaxDomainLength) return;
  std::size_t dot = s.find('.', s.size() - kMaxDomainLength - 1);
  if (dot == std::string::npos) return;  // one huge label: left to the caller's name check
  s.erase(0, dot + 1);
}

class Expander {
 public:
  Expander(const MacroValues* values, MacroUse use) : values_(values), use_(use) {}

  std::optional<std::string> run(std::string_view in) {
    std::string out;
    std::size_t i = 0;
    while (i < in.size()) {
      char c = in[i];
      if (c != '%') {
        bool space_ok = use_ == MacroUse::Explanation && c == ' ';
        if (!space_ok && (c < 0x21 || c > 0x7e)) return std::nullopt;
        append(out, std::string_view(&in[i], 1));
        ++i;
        continue;
      }
      if (i + 1 >= in.size()) return std::nullopt;
      char n = in[i + 1];
      if (n == '%') {
        append(out, "%");
        i += 2;
      } else if (n == '_') {
        append(out, " ");
        i += 2;
      } else if (n == '-') {
        append(out, "%20");
        i += 2;
      } else if (n == '{') {
        std::size_t close = in.find('}', i + 2);
        if (close == std::string_view::npos) return std::nullopt;
        auto v = macro(in.substr(i + 2, close - i - 2));
        if (!v) return std::nullopt;
        append(out, *v);
        i = close + 1;
      } else {
        return std::nullopt;
      }
    }
    if (use_ == MacroUse::DomainSpec) {
      if (!out.empty() && out.back() == '.') out.pop_back();
      truncate_left(out);
    }
    return out;
  }

 private:
  void append(std::string& out, std::string_view s) {
    if (use_ == MacroUse::Explanation) {
      out.append(s.substr(0, kMaxExplanation - std::min(out.size(), kMaxExplanation)));
      return;
    }
    out.append(s);
    if (out.size() > kDomainWorkLimit) out.erase(0, out.size() - kDomainKeep);
  }

  // The inside of %{...}: letter, digits, optional r, delimiters.
  std::optional<std::string> macro(std::string_view body) {
    if (body.empty()) return std::nullopt;
    char letter = body[0];
    bool upper = letter >= 'A' && letter <= 'Z';
    if (upper) letter = static_cast<char>(letter - 'A' + 'a');
    std::size_t i = 1;
    unsigned keep = 0;
    bool has_digits = false;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9') {
      has_digits = true;
      keep = std::min<unsigned>(keep * 10 + static_cast<unsigned>(body[i] - '0'), kMaxParts);
      ++i;
    }
    if (has_digits && keep == 0) return std::nullopt;  // 7.3: the digit MUST be nonzero
    bool reverse = false;
    if (i < body.size() && (body[i] == 'r' || body[i] == 'R')) {
      reverse = true;
      ++i;
    }
    std::string_view delims = body.substr(i);
    for (char d : delims)
      if (!is_delimiter(d)) return std::nullopt;
    if (delims.empty()) delims = ".";
    auto value = letter_value(letter);
    if (!value) return std::nullopt;
    std::string t = transform(*value, delims, keep, reverse);
    return upper ? url_escape(t) : t;
  }

  std::optional<std::string> letter_value(char letter) {
    bool exp_only = letter == 'c' || letter == 'r' || letter == 't';
    if (exp_only && use_ != MacroUse::Explanation) return std::nullopt;
    if (!values_) {  // syntax check only
      if (std::string_view("sloidpvhcrt").find(letter) == std::string_view::npos) return std::nullopt;
      return std::string();
    }
    const MacroValues& v = *values_;
    switch (letter) {
      case 's':
        return v.sender;
      case 'l':
        return v.local_part;
      case 'o':
        return v.sender_domain;
      case 'd':
        return v.domain;
      case 'i':
        return ip_macro_form(v.ip, v.ipv6);
      case 'p':
        if (!ptr_) ptr_ = v.validated_name ? v.validated_name() : std::string("unknown");
        return *ptr_;
      case 'v':
        return std::string(v.ipv6 ? "ip6" : "in-addr");
      case 'h':
        return v.helo;
      case 'c':
        return v.ip;
      case 'r':
        return v.receiver.empty() ? std::string("unknown") : v.receiver;
      case 't':
        return std::to_string(v.now);
      default:
        return std::nullopt;
    }
  }

  const MacroValues* values_;
  MacroUse use_;
  std::optional<std::string> ptr_;
};

}  // namespace

std::optional<std::string> expand(std::string_view macro_string, const MacroValues& values, MacroUse use) {
  return Expander(&values, use).run(macro_string);
}

bool valid_macro_string(std::string_view macro_string, MacroUse use) {
  return Expander(nullptr, use).run(macro_string).has_value();
}

std::string ip_macro_form(std::string_view ip, bool ipv6) {
  if (!ipv6) return std::string(ip);
  auto bytes = parse_ip6(ip);
  if (!bytes) return std::string(ip);
  // Upper-case nibbles, as in RFC 7208 7.4's example (DNS ignores case).
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (uint8_t b : *bytes) {
    if (!out.empty()) out.push_back('.');
    out.push_back(hex[b >> 4]);
    out.push_back('.');
    out.push_back(hex[b & 15]);
  }
  return out;
}

}  // namespace mailfort::proto::spf
