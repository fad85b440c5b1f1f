// libFuzzer target: the MTA-STS TXT record and policy file parsers and MX
// pattern matching (RFC 8461). Checks invariants: a parsed policy always
// satisfies the limits and the RFC's required fields, and each of its mx
// patterns matches a host built from it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/mtasts/mtasts.h"

using namespace mailfort::proto::mtasts;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto t = parse_txt(in)) {
    if (t->id.empty() || t->id.size() > 32) std::abort();
  }
  (void)select_txt({std::string(in), "v=STSv1; id=1"});
  if (auto p = parse_policy(in)) {
    if (p->max_age > kMaxAge || p->mx.size() > kMaxMxPatterns) std::abort();
    if (p->mode != Mode::None && p->mx.empty()) std::abort();
    for (auto& m : p->mx) {
      std::string host = m.rfind("*.", 0) == 0 ? "x" + m.substr(1) : m;
      if (!policy_allows_mx(*p, host)) std::abort();
    }
  }
  auto nl = in.find('\n');
  if (nl != std::string_view::npos) (void)mx_pattern_matches(in.substr(0, nl), in.substr(nl + 1));
  return 0;
}
