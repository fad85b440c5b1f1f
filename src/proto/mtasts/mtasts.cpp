#include "proto/mtasts/mtasts.h"

#include "base/text.h"

namespace mailfort::proto::mtasts {
namespace {

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

// sts-ext-name / sts-policy-ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool is_ext_name(std::string_view s) {
  if (s.empty() || s.size() > 32 || !is_alnum(s[0])) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// sts-ext-value: 1*(%x21-3A / %x3C / %x3E-7E)
bool is_txt_ext_value(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e || c == ';' || c == '=') return false;
  }
  return true;
}

// sts-policy-ext-value: sts-policy-vchar [*(%x20 / sts-policy-vchar) sts-policy-vchar]
// where sts-policy-vchar is VCHAR or UTF-8 non-ASCII.
bool is_policy_ext_value(std::string_view s) {
  if (s.empty() || s.front() == ' ' || s.back() == ' ') return false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

bool parse_uint(std::string_view s, uint64_t& out) {
  // 1*10(DIGIT)
  if (s.empty() || s.size() > 10) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::Enforce:
      return "enforce";
    case Mode::Testing:
      return "testing";
    case Mode::None:
      return "none";
  }
  return "none";
}

std::optional<TxtRecord> parse_txt(std::string_view record) {
  // sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep]
  // sts-sep = *WSP ";" *WSP; fields are separated by ';', and WSP around
  // ';' belongs to the separator, so splitting on ';' and trimming is exact
  // as long as no field contains WSP itself.
  std::vector<std::string_view> fields;
  std::size_t pos = 0;
  while (true) {
    auto semi = record.find(';', pos);
    fields.push_back(trim_wsp(record.substr(pos, semi == std::string_view::npos ? record.npos : semi - pos)));
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  // The record starts with "v=STSv1" at once (no leading WSP).
  if (record.substr(0, 7) != "v=STSv1" || fields[0] != "v=STSv1") return std::nullopt;
  if (fields.back().empty()) fields.pop_back();  // the optional trailing sts-sep
  if (fields.size() < 2) return std::nullopt;
  std::optional<TxtRecord> out;
  for (std::size_t i = 1; i < fields.size(); ++i) {
    auto f = fields[i];
    auto eq = f.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    auto name = f.substr(0, eq), value = f.substr(eq + 1);
    if (name == "id") {
      if (value.empty() || value.size() > 32) return std::nullopt;
      for (char c : value)
        if (!is_alnum(c)) return std::nullopt;
      if (!out) out = TxtRecord{std::string(value)};  // first instance wins
    } else if (name == "v" || !is_ext_name(name) || !is_txt_ext_value(value)) {
      return std::nullopt;
    }
  }
  return out;  // id is required
}

std::optional<TxtRecord> select_txt(const std::vector<std::string>& records) {
  const std::string* found = nullptr;
  for (auto& r : records) {
    if (r.rfind("v=STSv1", 0) != 0) continue;
    if (found) return std::nullopt;  // more than one: no policy
    found = &r;
  }
  if (!found) return std::nullopt;
  return parse_txt(*found);
}

std::optional<Policy> parse_policy(std::string_view body) {
  Policy p;
  bool have_version = false, have_mode = false, have_max_age = false;
  std::size_t pos = 0;
  bool first = true;
  while (pos < body.size()) {
    auto lf = body.find('\n', pos);
    std::string_view line = body.substr(pos, lf == std::string_view::npos ? body.npos : lf - pos);
    pos = lf == std::string_view::npos ? body.size() : lf + 1;
    if (lf != std::string_view::npos && !line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Trailing WSP after a field is allowed (the *WSP before a term).
    while (!line.empty() && is_wsp(line.back())) line.remove_suffix(1);
    if (line.empty()) return std::nullopt;  // blank lines are not in the grammar
    first = false;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    while (!value.empty() && is_wsp(value.front())) value.remove_prefix(1);
    if (!is_ext_name(name) || !is_policy_ext_value(value)) return std::nullopt;
    if (name == "version") {
      if (value != "STSv1") return std::nullopt;
      have_version = true;
    } else if (name == "mode") {
      Mode m;
      if (value == "enforce")
        m = Mode::Enforce;
      else if (value == "testing")
        m = Mode::Testing;
      else if (value == "none")
        m = Mode::None;
      else
        return std::nullopt;
      if (!have_mode) p.mode = m;
      have_mode = true;
    } else if (name == "max_age") {
      uint64_t v = 0;
      if (!parse_uint(value, v)) return std::nullopt;
      if (!have_max_age) p.max_age = static_cast<uint32_t>(v > kMaxAge ? kMaxAge : v);
      have_max_age = true;
    } else if (name == "mx") {
      // ["*."] Domain
      std::string_view d = value;
      bool wildcard = d.substr(0, 2) == "*.";
      if (wildcard) d.remove_prefix(2);
      if (!is_valid_domain(d)) return std::nullopt;
      if (p.mx.size() >= kMaxMxPatterns) return std::nullopt;
      p.mx.push_back(to_lower(value));
    }
    // other keys: extensions, ignored
  }
  if (first || !have_version || !have_mode || !have_max_age) return std::nullopt;
  if (p.mode != Mode::None && p.mx.empty()) return std::nullopt;
  return p;
}

bool mx_pattern_matches(std::string_view pattern, std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (pattern.empty() || host.empty()) return false;
  if (pattern.substr(0, 2) == "*.") {
    auto dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return iequals(host.substr(dot + 1), pattern.substr(2));
  }
  return iequals(host, pattern);
}

bool policy_allows_mx(const Policy& p, std::string_view host) {
  for (auto& pat : p.mx)
    if (mx_pattern_matches(pat, host)) return true;
  return false;
}

std::string format_policy(const Policy& p) {
  std::string out = "version: STSv1\r\nmode: " + std::string(mode_name(p.mode)) + "\r\n";
  for (auto& m : p.mx) out += "mx: " + m + "\r\n";
  out += "max_age: " + std::to_string(p.max_age) + "\r\n";
  return out;
}

std::string policy_id(std::string_view policy_text) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : policy_text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static const char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<std::size_t>(i)] = kHex[h & 15];
  return out;
}

}  // namespace mailfort::proto::mtasts
