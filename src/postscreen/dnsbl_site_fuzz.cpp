// libFuzzer target: the postscreen_dnsbl_sites entry parser and its A
// record filter. Input: an entry, optionally "\n" and an A record to match.
// Invariants: a parsed entry has a valid weight and a domain without upper
// case; matching never accepts something that is not four octets; an
// entry without filter matches every dotted quad.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "postscreen/dnsbl_site.h"

using namespace mailfort::postscreen;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view entry = in.substr(0, nl);
  std::string_view record = nl == std::string_view::npos ? "127.0.0.2" : in.substr(nl + 1);
  auto parsed = parse_dnsbl_site(entry);
  if (!parsed.site) {
    if (parsed.error.empty()) std::abort();
    return 0;
  }
  const auto& s = *parsed.site;
  if (s.weight < -kMaxDnsblWeight || s.weight > kMaxDnsblWeight) std::abort();
  if (s.domain.empty() || s.domain.size() > 180) std::abort();
  for (char c : s.domain)
    if (std::isupper(static_cast<unsigned char>(c))) std::abort();
  bool m = s.matches(record);
  int dots = 0;
  for (char c : record) dots += c == '.';
  if (m && dots != 3) std::abort();
  if (!s.filter && !s.matches("1.2.3.4")) std::abort();
  return 0;
}
