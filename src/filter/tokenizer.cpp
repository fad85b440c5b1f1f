// PLACEHOLDER (helper i13-bayes replaces this file).
#include "filter/tokenizer.h"

#include "filter/message_view.h"

namespace mailfort::filter {
std::vector<Token> tokenize(const MessageView&, const TokenizerLimits&) {
  return {};
}
std::vector<Token> tokenize_text(std::string_view, const TokenizerLimits&) {
  return {};
}
}  // namespace mailfort::filter
