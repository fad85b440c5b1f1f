#include "policy/client_key.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstdint>

namespace mailfort::policy {

std::string client_key(std::string_view ip, unsigned v6_prefix) {
  std::string text(ip.substr(0, ip.find('%')));
  if (text.find(':') == std::string::npos) return std::string(ip);
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1) return std::string(ip);
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(a.begin(), a.begin() + 12, kMapped)) {  // ::ffff:192.0.2.1 is an IPv4 client
    char v4[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, a.data() + 12, v4, sizeof v4) != nullptr) return v4;
  }
  if (v6_prefix > 128) v6_prefix = 128;
  for (unsigned bit = v6_prefix; bit < 128; ++bit) a[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  char buf[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, a.data(), buf, sizeof buf) == nullptr) return std::string(ip);
  std::string out = buf;
  if (v6_prefix < 128) out += "/" + std::to_string(v6_prefix);
  return out;
}

}  // namespace mailfort::policy
