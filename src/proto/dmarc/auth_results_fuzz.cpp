// libFuzzer target: the Authentication-Results parser
// (proto/dmarc/auth_results.h). Checks invariants: the bounds hold, a
// parsed value has an authserv-id, methods and results are lower case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/dmarc/auth_results.h"

using namespace mailfort::proto::dmarc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  AuthResultsLimits limits;
  limits.max_results = 8;
  limits.max_properties = 4;
  auto ar = parse_auth_results(in, limits);
  if (ar.ok && ar.authserv_id.empty()) std::abort();
  if (ar.results.size() > 8) std::abort();
  for (const auto& r : ar.results) {
    if (r.properties.size() > 4 || r.method.empty() || r.result.empty()) std::abort();
    for (char c : r.method + r.result)
      if (std::isupper(static_cast<unsigned char>(c))) std::abort();
  }
  return 0;
}
