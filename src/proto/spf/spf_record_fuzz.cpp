// libFuzzer target: SPF record parsing (RFC 7208 4.6, 5, 6). Checks
// invariants: a parsed record only holds prefix lengths in range, valid
// domain-specs, and no more directives than the input has bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/spf/record.h"

using namespace mailfort::proto::spf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto r = parse_record(in);
  if (r.record && !is_spf_record(in)) std::abort();
  if (!r.record && r.error.empty()) std::abort();
  if (r.record) {
    if (r.record->directives.size() > size) std::abort();
    for (const auto& d : r.record->directives) {
      if (d.cidr4 < 0 || d.cidr4 > 32 || d.cidr6 < 0 || d.cidr6 > 128) std::abort();
      if (!d.domain_spec.empty() && !valid_domain_spec(d.domain_spec)) std::abort();
      if ((d.mechanism == Mechanism::Include || d.mechanism == Mechanism::Exists) && d.domain_spec.empty())
        std::abort();
    }
    if (r.record->redirect && !valid_domain_spec(*r.record->redirect)) std::abort();
    if (r.record->exp && !valid_domain_spec(*r.record->exp)) std::abort();
  }
  (void)parse_ip4(in);
  (void)parse_ip6(in);
  return 0;
}
