// PLACEHOLDER (helper i13-rules replaces this file).
#include "filter/rules.h"

namespace mailfort::filter {
std::unique_ptr<RuleSet> parse_rules(std::string_view, const std::string&, std::vector<RuleProblem>&) {
  return nullptr;
}
std::unique_ptr<RuleSet> load_rule_files(const std::vector<std::string>&, std::vector<RuleProblem>&) {
  return nullptr;
}
}  // namespace mailfort::filter
