// The tag=value list of RFC 6376 section 3.2, shared by DKIM-Signature,
// DKIM key records and the ARC header fields (RFC 8617). Pure, no I/O.
//
// Faces untrusted input (header fields and DNS text chosen by the sender).
// Strict to the ABNF: tag names are ALPHA *(ALPHA / DIGIT / "_"), values
// hold no ';' and no control characters other than folding whitespace, a
// duplicate tag name is an error (3.2), one empty tag-spec is allowed only
// after the last ';'. Linear in the input; at most kMaxTags tags.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::dkim {

inline constexpr std::size_t kMaxTags = 64;

struct Tag {
  std::string_view name;   // as written (tag names are case-sensitive)
  std::string_view value;  // leading and trailing FWS removed; inner FWS kept
  // Where the whole value (with its surrounding FWS) lies in the input:
  // [value_begin, value_end), used to blank b= for the header hash.
  std::size_t value_begin = 0;
  std::size_t value_end = 0;
};

struct TagList {
  std::vector<Tag> tags;
  const Tag* find(std::string_view name) const;
};

// nullopt with `error` set on a syntax error. The views point into `in`.
std::optional<TagList> parse_tag_list(std::string_view in, std::string* error = nullptr);

// `value` with every WSP, CR and LF removed (b=, bh=, p= base64 may be folded).
std::string strip_fws(std::string_view value);

// "a : b:c" -> {"a", "b", "c"}; empty items are kept as "" (callers reject them).
std::vector<std::string_view> split_colon_list(std::string_view value);

}  // namespace mailfort::proto::dkim
