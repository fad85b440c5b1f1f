// IP networks ("192.0.2.0/24", "2001:db8::/32", "127.0.0.1") and matching,
// for trusted networks and access lists. Pure.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};
  int prefix = 0;

  static std::optional<Cidr> parse(std::string_view text);
  bool contains(std::string_view ip) const;  // false for unparsable ip
};

bool any_contains(const std::vector<Cidr>& nets, std::string_view ip);

}  // namespace mailfort
