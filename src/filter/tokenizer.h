// The Bayes tokenizer: normalised words of the text parts, the Subject and
// selected header fields, combined as Rspamd's OSB (orthogonal sparse
// bigrams: each word paired with each of the next few words, the distance
// part of the token), hashed to 64 bits. Bounded: at most max_tokens.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace mailfort::filter {

class MessageView;

struct TokenizerLimits {
  std::size_t max_tokens = 20000;
  std::size_t max_word_bytes = 64;  // longer words are hashed as one "long word" token
  std::size_t window = 5;           // OSB window
};

using Token = uint64_t;

// Tokens of a message (text parts, Subject, From/To display names and
// domains, URL hosts, attachment types), deduplicated, sorted.
std::vector<Token> tokenize(const MessageView& view, const TokenizerLimits& limits = {});

// Tokens of plain text alone (unit tests, the fuzzer).
std::vector<Token> tokenize_text(std::string_view text, const TokenizerLimits& limits = {});

}  // namespace mailfort::filter
