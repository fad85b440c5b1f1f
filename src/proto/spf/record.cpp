#include "proto/spf/record.h"

#include <arpa/inet.h>

#include <cstring>

#include "proto/spf/macro.h"

namespace mailfort::proto::spf {
namespace {

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
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

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool valid_toplabel(std::string_view l) {
  if (l.empty()) return false;
  bool alpha = false, hyphen = false;
  for (char c : l) {
    if (c == '-') {
      hyphen = true;
    } else if (is_alpha(c)) {
      alpha = true;
    } else if (!is_digit(c)) {
      return false;
    }
  }
  if (!hyphen) return alpha;
  return is_alnum(l.front()) && is_alnum(l.back());
}

// "/" ("0" / %x31-39 0*N DIGIT) with the value at most `max`.
std::optional<int> parse_cidr(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  int v = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Strips a trailing "/digits" from `s` into `digits`; false when there is
// none (a '/' not followed by digits to the end is left in place).
bool take_slash_number(std::string_view& s, std::string_view& digits) {
  std::size_t end = s.size(), i = end;
  while (i > 0 && is_digit(s[i - 1])) --i;
  if (i == end || i == 0 || s[i - 1] != '/') return false;
  digits = s.substr(i);
  s = s.substr(0, i - 1);
  return true;
}

struct Parser {
  Record record;
  std::string error;

  bool fail(std::string why) {
    error = std::move(why);
    return false;
  }

  // ":" domain-spec, required or optional.
  bool domain_arg(std::string_view rest, bool required, Directive& d, std::string_view term) {
    if (rest.empty()) {
      if (required) return fail("'" + std::string(term) + "' needs a domain");
      return true;
    }
    if (rest[0] != ':') return fail("bad term '" + std::string(term) + "'");
    std::string_view spec = rest.substr(1);
    if (!valid_domain_spec(spec)) return fail("bad domain-spec in '" + std::string(term) + "'");
    d.domain_spec = std::string(spec);
    return true;
  }

  bool modifier(std::string_view name, std::string_view value, std::string_view term) {
    std::string n = to_lower(name);
    if (n == "redirect" || n == "exp") {
      auto& slot = n == "redirect" ? record.redirect : record.exp;
      if (slot) return fail("'" + n + "=' appears twice");
      if (!valid_domain_spec(value)) return fail("bad domain-spec in '" + std::string(term) + "'");
      slot = std::string(value);
      return true;
    }
    // Unknown modifiers are ignored, but must be syntactically valid (6).
    if (!valid_macro_string(value, MacroUse::Explanation))
      return fail("bad modifier '" + std::string(term) + "'");
    return true;
  }

  bool term(std::string_view t) {
    // modifier: name "=" ..., name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    if (is_alpha(t[0])) {
      std::size_t i = 1;
      while (i < t.size() && (is_alnum(t[i]) || t[i] == '-' || t[i] == '_' || t[i] == '.')) ++i;
      if (i < t.size() && t[i] == '=') return modifier(t.substr(0, i), t.substr(i + 1), t);
    }
    Directive d;
    d.text = std::string(t);
    std::string_view s = t;
    switch (s[0]) {
      case '+':
        d.qualifier = Qualifier::Pass;
        s.remove_prefix(1);
        break;
      case '-':
        d.qualifier = Qualifier::Fail;
        s.remove_prefix(1);
        break;
      case '~':
        d.qualifier = Qualifier::SoftFail;
        s.remove_prefix(1);
        break;
      case '?':
        d.qualifier = Qualifier::Neutral;
        s.remove_prefix(1);
        break;
      default:
        break;
    }
    std::size_t end = 0;
    while (end < s.size() && s[end] != ':' && s[end] != '/') ++end;
    std::string name = to_lower(s.substr(0, end));
    std::string_view rest = s.substr(end);
    if (name == "all") {
      d.mechanism = Mechanism::All;
      if (!rest.empty()) return fail("bad term '" + d.text + "'");
    } else if (name == "include" || name == "exists") {
      d.mechanism = name == "include" ? Mechanism::Include : Mechanism::Exists;
      if (!domain_arg(rest, true, d, t)) return false;
    } else if (name == "ptr") {
      d.mechanism = Mechanism::Ptr;
      if (!domain_arg(rest, false, d, t)) return false;
    } else if (name == "a" || name == "mx") {
      d.mechanism = name == "a" ? Mechanism::A : Mechanism::Mx;
      // dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]
      std::string_view digits;
      std::string_view probe = rest;
      if (take_slash_number(probe, digits) && !probe.empty() && probe.back() == '/') {
        auto v6 = parse_cidr(digits, 128);
        if (!v6) return fail("bad IPv6 prefix length in '" + d.text + "'");
        d.cidr6 = *v6;
        rest = probe.substr(0, probe.size() - 1);
      }
      probe = rest;
      if (take_slash_number(probe, digits)) {
        auto v4 = parse_cidr(digits, 32);
        if (!v4) return fail("bad IPv4 prefix length in '" + d.text + "'");
        d.cidr4 = *v4;
        rest = probe;
      }
      if (!domain_arg(rest, false, d, t)) return false;
    } else if (name == "ip4" || name == "ip6") {
      bool v6 = name == "ip6";
      d.mechanism = v6 ? Mechanism::Ip6 : Mechanism::Ip4;
      if (rest.empty() || rest[0] != ':') return fail("'" + d.text + "' needs an address");
      std::string_view arg = rest.substr(1);
      std::size_t slash = arg.find('/');
      std::string_view addr = arg.substr(0, slash);
      if (slash != std::string_view::npos) {
        auto len = parse_cidr(arg.substr(slash + 1), v6 ? 128 : 32);
        if (!len) return fail("bad prefix length in '" + d.text + "'");
        (v6 ? d.cidr6 : d.cidr4) = *len;
      }
      if (v6) {
        auto a = parse_ip6(addr);
        if (!a) return fail("bad IPv6 address in '" + d.text + "'");
        d.network = *a;
      } else {
        auto a = parse_ip4(addr);
        if (!a) return fail("bad IPv4 address in '" + d.text + "'");
        std::memcpy(d.network.data(), a->data(), 4);
      }
    } else {
      return fail("unknown mechanism '" + d.text + "'");
    }
    record.directives.push_back(std::move(d));
    return true;
  }
};

}  // namespace

const char* mechanism_name(Mechanism m) {
  switch (m) {
    case Mechanism::All:
      return "all";
    case Mechanism::Include:
      return "include";
    case Mechanism::A:
      return "a";
    case Mechanism::Mx:
      return "mx";
    case Mechanism::Ptr:
      return "ptr";
    case Mechanism::Ip4:
      return "ip4";
    case Mechanism::Ip6:
      return "ip6";
    case Mechanism::Exists:
      return "exists";
  }
  return "?";
}

bool is_spf_record(std::string_view txt) {
  static constexpr std::string_view kVersion = "v=spf1";
  if (txt.size() < kVersion.size()) return false;
  for (std::size_t i = 0; i < kVersion.size(); ++i)
    if (lower(txt[i]) != kVersion[i]) return false;
  return txt.size() == kVersion.size() || txt[kVersion.size()] == ' ';
}

ParseResult parse_record(std::string_view txt) {
  ParseResult r;
  if (!is_spf_record(txt)) {
    r.error = "not an SPF record";
    return r;
  }
  Parser p;
  std::size_t i = 6;
  while (i < txt.size()) {
    if (txt[i] == ' ') {
      ++i;
      continue;
    }
    std::size_t end = txt.find(' ', i);
    if (end == std::string_view::npos) end = txt.size();
    if (!p.term(txt.substr(i, end - i))) {
      r.error = std::move(p.error);
      return r;
    }
    i = end;
  }
  r.record = std::move(p.record);
  return r;
}

bool valid_domain_spec(std::string_view spec) {
  if (spec.empty() || !valid_macro_string(spec, MacroUse::DomainSpec)) return false;
  // Where the last macro-expand ends (the string is known to be valid).
  std::size_t tail = 0;
  for (std::size_t i = 0; i < spec.size();) {
    if (spec[i] != '%') {
      ++i;
      continue;
    }
    if (spec[i + 1] == '{') {
      i = spec.find('}', i) + 1;
    } else {
      i += 2;
    }
    tail = i;
  }
  std::string_view lit = spec.substr(tail);
  if (lit.empty()) return true;  // domain-end = macro-expand
  if (lit.back() == '.') lit.remove_suffix(1);
  std::size_t dot = lit.rfind('.');
  if (dot == std::string_view::npos) return false;
  return valid_toplabel(lit.substr(dot + 1));
}

std::optional<std::array<uint8_t, 4>> parse_ip4(std::string_view text) {
  std::array<uint8_t, 4> out{};
  std::size_t pos = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    std::size_t start = pos;
    int v = 0;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) v = v * 10 + (text[pos++] - '0');
    std::size_t n = pos - start;
    if (n == 0 || v > 255 || (n > 1 && text[start] == '0')) return std::nullopt;
    out[static_cast<std::size_t>(part)] = static_cast<uint8_t>(v);
  }
  if (pos != text.size()) return std::nullopt;
  return out;
}

std::optional<std::array<uint8_t, 16>> parse_ip6(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  std::array<uint8_t, 16> out{};
  if (inet_pton(AF_INET6, s.c_str(), out.data()) != 1) return std::nullopt;
  return out;
}

bool prefix_match(const uint8_t* a, const uint8_t* b, std::size_t len, int bits) {
  for (std::size_t i = 0; i < len && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace mailfort::proto::spf
