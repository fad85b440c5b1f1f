#include "base/cidr.h"

#include <arpa/inet.h>

#include <charconv>

namespace mailfort {
namespace {

bool parse_ip(std::string_view text, bool& v6, std::array<uint8_t, 16>& out) {
  std::string s(text);
  out.fill(0);
  if (inet_pton(AF_INET, s.c_str(), out.data()) == 1) {
    v6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.data()) == 1) {
    v6 = true;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  Cidr c;
  auto slash = text.find('/');
  if (!parse_ip(text.substr(0, slash), c.v6, c.addr)) return std::nullopt;
  int max = c.v6 ? 128 : 32;
  c.prefix = max;
  if (slash != std::string_view::npos) {
    auto p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), c.prefix);
    if (ec != std::errc() || ptr != p.data() + p.size() || c.prefix < 0 || c.prefix > max)
      return std::nullopt;
  }
  return c;
}

bool Cidr::contains(std::string_view ip) const {
  bool is6 = false;
  std::array<uint8_t, 16> a{};
  if (!parse_ip(ip, is6, a) || is6 != v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  for (int i = 0; i < full; ++i)
    if (a[i] != addr[i]) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xFF << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

bool any_contains(const std::vector<Cidr>& nets, std::string_view ip) {
  for (const auto& n : nets)
    if (n.contains(ip)) return true;
  return false;
}

}  // namespace mailfort
