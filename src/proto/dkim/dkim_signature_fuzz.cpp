// libFuzzer target: the DKIM-Signature parser (RFC 6376 3.2 tag list, 3.5).
// Invariants: a parsed signature has the required tags and signs From, its
// i= lies within d=, x= is not before t=, and tag value spans stay inside
// the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/dkim/signature.h"

using namespace mailfort::proto::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto list = parse_tag_list(in)) {
    if (list->tags.size() > kMaxTags) std::abort();
    for (auto& t : list->tags)
      if (t.value_begin > t.value_end || t.value_end > in.size()) std::abort();
  }
  if (auto s = parse_signature(in)) {
    if (s->domain.empty() || s->selector.empty() || s->b.empty() || s->bh.empty()) std::abort();
    bool from = false;
    for (auto& h : s->headers) from |= h == "from";
    if (!from || s->headers.size() > kMaxSignedHeaders) std::abort();
    if (s->identity.find('@') == std::string::npos) std::abort();
    if (s->timestamp >= 0 && s->expiration >= 0 && s->expiration < s->timestamp) std::abort();
  }
  return 0;
}
