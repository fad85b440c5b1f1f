// libFuzzer target: the DKIM key record parser (RFC 6376 3.6.1, RFC 8463).
// Invariants: a parsed record's hash list only holds hashes when h= was
// given, and its t= flags are exactly those its tag list's t= names.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/dkim/signature.h"
#include "proto/dkim/tag_list.h"

using namespace mailfort::proto::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto k = parse_key_record(in)) {
    if (!k->hash_restricted && !k->hashes.empty()) std::abort();
    auto list = parse_tag_list(in);
    if (!list) std::abort();  // a record parses only if its tag list does
    bool y = false, s = false;
    if (auto* t = list->find("t"))
      for (auto flag : split_colon_list(t->value)) y |= flag == "y", s |= flag == "s";
    if (k->testing != y || k->strict_identity != s) std::abort();
  }
  return 0;
}
