#include "base/text.h"

#include <cstring>

namespace mailfort {
namespace {

char lower_char(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower_char(c);
  return out;
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_char(a[i]) != lower_char(b[i])) return false;
  return true;
}

bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if (c <= 0x20 || c == 0x7f) return false;
  return std::strchr("()<>[]:;@\\,.\"", c) == nullptr;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_valid_domain(std::string_view d, bool allow_utf8) {
  if (d.empty() || d.size() > 253) return false;
  std::size_t label = 0;
  char prev = '.';
  for (unsigned char c : d) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (is_alnum(c) || (allow_utf8 && c >= 0x80)) {
      if (++label > 63) return false;
    } else if (c == '-') {
      if (label == 0 || ++label > 63) return false;
    } else {
      return false;
    }
    prev = static_cast<char>(c);
  }
  return label > 0 && prev != '-';
}

bool is_fqdn(std::string_view d, bool allow_utf8) {
  if (!is_valid_domain(d, allow_utf8)) return false;
  auto dot = d.rfind('.');
  if (dot == std::string_view::npos) return false;
  for (unsigned char c : d.substr(dot + 1))
    if (c < '0' || c > '9') return true;
  return false;
}

}  // namespace mailfort
