// PLACEHOLDER: replaced by the matching helper.
#include "sieve/match.h"

namespace mailfort::sieve {

std::optional<Comparator> comparator_from_name(std::string_view name) {
  return std::nullopt;
}
std::optional<RelOp> relop_from_name(std::string_view name) {
  return std::nullopt;
}
bool match_value(const MatchSpec& spec, std::string_view value, const std::vector<std::string>& keys,
                 std::vector<std::string>* captures) {
  return false;
}
bool match_count(const MatchSpec& spec, std::size_t count, const std::vector<std::string>& keys) {
  return false;
}
std::string check_regex(std::string_view pattern) {
  return "";
}

}  // namespace mailfort::sieve
