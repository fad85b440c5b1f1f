// PLACEHOLDER (helper i13-checks replaces this file).
#include "filter/builtin_engine.h"

namespace mailfort::filter {
BuiltinEngine::BuiltinEngine(const config::Spam& cfg, BuiltinParts parts)
    : cfg_(cfg), parts_(std::move(parts)) {}
ScanResult BuiltinEngine::scan(const ScanInput&) {
  ScanResult r;
  r.engine = "builtin";
  r.required_score = cfg_.add_header_score;
  r.reject_score = cfg_.reject_score;
  return r;
}
Result<LearnOutcome> BuiltinEngine::learn(std::string_view, bool, const std::string&) {
  return LearnOutcome::Skipped;
}
}  // namespace mailfort::filter
