// libFuzzer target: the DKIM key record parser (RFC 6376 3.6.1, RFC 8463).
// Invariant: a parsed record's hash list only holds known hashes and a
// record whose t= says nothing is not in testing mode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/dkim/signature.h"

using namespace mailfort::proto::dkim;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto k = parse_key_record(in)) {
    if (!k->hash_restricted && !k->hashes.empty()) std::abort();
    if (k->testing && in.find("t=") == std::string_view::npos && in.find("t =") == std::string_view::npos &&
        in.find("t\t") == std::string_view::npos && in.find("t\r") == std::string_view::npos &&
        in.find("t ") == std::string_view::npos)
      std::abort();
  }
  return 0;
}
