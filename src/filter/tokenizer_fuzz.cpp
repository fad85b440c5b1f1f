// libFuzzer target: the Bayes tokenizer (filter/tokenizer.h) on any bytes,
// as plain text and as a whole message through MessageView. Checks
// invariants, not just crashes: the output is sorted, distinct and within
// max_tokens; the same input gives the same tokens; ASCII case does not
// matter; a message's tokens include its text's pairs unless the cap cut.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filter/message_view.h"
#include "filter/tokenizer.h"

using namespace mailfort::filter;

namespace {

void check_shape(const std::vector<Token>& t, const TokenizerLimits& limits) {
  if (t.size() > limits.max_tokens) std::abort();
  if (!std::is_sorted(t.begin(), t.end())) std::abort();
  if (std::adjacent_find(t.begin(), t.end()) != t.end()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  TokenizerLimits small;
  small.max_tokens = 64;
  small.max_word_bytes = 8;
  small.window = 3;
  for (const TokenizerLimits& limits : {TokenizerLimits{}, small}) {
    auto t = tokenize_text(in, limits);
    check_shape(t, limits);
    if (tokenize_text(in, limits) != t) std::abort();
    std::string upper(in);
    for (char& c : upper)
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 0x20);
    if (tokenize_text(upper, limits) != t) std::abort();
  }
  MessageView view(in);
  TokenizerLimits limits;
  auto t = tokenize(view, limits);
  check_shape(t, limits);
  if (tokenize(view, limits) != t) std::abort();
  if (t.size() < limits.max_tokens) {
    auto text = tokenize_text(view.all_text(), limits);
    if (!std::includes(t.begin(), t.end(), text.begin(), text.end())) std::abort();
  }
  return 0;
}
