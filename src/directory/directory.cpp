// Addresses and TLS policy names of the Directory; the SQL backend is
// sql_directory.cpp, its tables schema.cpp.
#include <algorithm>
#include <cctype>

#include "base/text.h"
#include "directory/directory.h"

namespace mailfort::directory {

bool is_valid_tls_policy(std::string_view p) {
  static const char* kPolicies[] = {"none",      "may",         "encrypt", "dane",
                                    "dane-only", "fingerprint", "verify",  "secure"};
  return std::any_of(std::begin(kPolicies), std::end(kPolicies), [&](const char* k) { return p == k; });
}

Result<Address> parse_address(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
  }
  std::string_view local = s.substr(0, at);
  std::string domain = to_lower(s.substr(at + 1));
  if (local.size() > 64) return make_error(Errc::Invalid, "local part too long");
  for (unsigned char c : local) {
    if (c < 0x20 || c == 0x7F || c == ' ' || c == '/') {
      return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
    }
  }
  if (local.front() == '.' || !is_valid_domain(domain, true)) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
  }
  return Address{std::string(local), domain};
}

namespace {

// Valid UTF-8 without overlong forms, surrogates or C1 controls.
bool valid_utf8_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (n == 0 || c > 0xF4 || i + n >= s.size()) return false;
    uint32_t cp = c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0)
      return false;
    i += n + 1;
  }
  return true;
}

bool is_local_atext(unsigned char c) {
  if (std::isalnum(c) || c >= 0x80) return true;
  return std::string_view("!#$%&'*+-=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

Result<Address> parse_new_address(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "': " + why);
  };
  auto at = s.find('@');
  if (at == std::string_view::npos) return bad("no '@'");
  if (s.find('@', at + 1) != std::string_view::npos) return bad("more than one '@'");
  std::string_view local = s.substr(0, at);
  std::string domain = to_lower(s.substr(at + 1));
  if (local.empty()) return bad("empty local part");
  if (local.size() > 64) return bad("local part longer than 64 octets");
  for (unsigned char c : local) {
    if (c == '.') continue;
    if (!is_local_atext(c)) {
      return bad(std::string("the local part may hold letters, digits, dots and ") +
                 "!#$%&'*+-=?^_`{|}~ (no quotes, spaces, backslashes or '/')");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return bad("the local part may not start or end with a dot or hold two in a row");
  if (!valid_utf8_text(local)) return bad("the local part is not valid UTF-8");
  if (!is_valid_domain(domain, true) || !valid_utf8_text(domain)) return bad("the domain is not a host name");
  return Address{std::string(local), domain};
}

}  // namespace mailfort::directory
