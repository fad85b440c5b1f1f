// libFuzzer target: SPF macro expansion (RFC 7208 7), the CVE-2021-20314
// class (expansion overflowing its buffer). The input is a macro-string, a
// NUL, then the values (local part, domain, HELO, %{p}) separated by NULs,
// so the fuzzer controls both sides. Checks invariants: output stays within
// the documented bounds and expand() agrees with valid_macro_string().
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/spf/macro.h"

using namespace mailfort::proto::spf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= in.size() && parts.size() < 5; ++i) {
    if (i == in.size() || in[i] == '\0') {
      parts.emplace_back(in.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.resize(5);
  MacroValues v;
  v.local_part = parts[1];
  v.domain = parts[2];
  v.sender_domain = parts[2];
  v.sender = parts[1] + "@" + parts[2];
  v.helo = parts[3];
  v.ipv6 = !parts[4].empty() && parts[4][0] & 1;
  v.ip = v.ipv6 ? "2001:db8::1" : "192.0.2.1";
  v.receiver = parts[3];
  v.now = static_cast<int64_t>(size);
  std::string ptr = parts[4];
  v.validated_name = [&ptr] { return ptr; };
  for (auto use : {MacroUse::DomainSpec, MacroUse::Explanation}) {
    auto out = expand(parts[0], v, use);
    if (out.has_value() != valid_macro_string(parts[0], use)) std::abort();
    if (!out) continue;
    if (use == MacroUse::Explanation && out->size() > kMaxExplanation) std::abort();
    if (use == MacroUse::DomainSpec && out->size() > 4096) std::abort();
    // A result made of labels that fit must fit in 253 octets (7.3).
    if (use == MacroUse::DomainSpec && out->size() > kMaxDomainLength &&
        out->find('.', out->size() - kMaxDomainLength - 1) != std::string::npos)
      std::abort();
  }
  return 0;
}
