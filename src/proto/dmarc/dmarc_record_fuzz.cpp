// libFuzzer target: the DMARC record parser (proto/dmarc/dmarc_record.h).
// Checks invariants: the bounds hold, pct stays in 0..100, an accepted
// record starts with v=DMARC1 and has a policy or report URIs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/dmarc/dmarc_record.h"

using namespace mailfort::proto::dmarc;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  RecordLimits limits;
  limits.max_uris = 4;
  auto r = parse_record(in, limits);
  if (r.ok()) {
    if (!looks_like_dmarc(in)) std::abort();
    if (r.record.pct < 0 || r.record.pct > 100) std::abort();
    if (r.record.rua.size() > 4 || r.record.ruf.size() > 4) std::abort();
    if (!r.record.p_given && r.record.rua.empty()) std::abort();
    for (const auto& u : r.record.rua)
      if (u.uri.find(':') == std::string::npos) std::abort();
  }
  return 0;
}
