// PLACEHOLDER (helper i13-checks replaces this file).
#include "filter/builtin_engine.h"

#include "filter/bayes.h"
#include "filter/message_view.h"
#include "filter/tokenizer.h"

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
// (Real already: keep this body in the full implementation.)
Result<LearnOutcome> BuiltinEngine::learn(std::string_view message, bool spam, const std::string& user) {
  if (!parts_.bayes) return Error{Errc::Invalid, "Bayes is off ([spam] bayes = false) or unavailable"};
  ViewLimits limits;
  limits.max_bytes = cfg_.max_scan_size;
  MessageView view(message, limits);
  return parts_.bayes->learn(tokenize(view), spam, user);
}
}  // namespace mailfort::filter
