#include "proto/sasl/sasl.h"

#include <cstdint>

namespace mailfort::proto::sasl {
namespace {

constexpr std::size_t kMaxPlain = 1024;

}  // namespace

std::optional<PlainCredentials> parse_plain(std::string_view decoded) {
  if (decoded.size() > kMaxPlain) return std::nullopt;
  auto first = decoded.find('\0');
  if (first == std::string_view::npos) return std::nullopt;
  auto second = decoded.find('\0', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (decoded.find('\0', second + 1) != std::string_view::npos) return std::nullopt;
  PlainCredentials c{std::string(decoded.substr(0, first)),
                     std::string(decoded.substr(first + 1, second - first - 1)),
                     std::string(decoded.substr(second + 1))};
  if (c.authcid.empty() || c.password.empty()) return std::nullopt;
  return c;
}

}  // namespace mailfort::proto::sasl
