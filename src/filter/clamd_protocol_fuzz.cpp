// clamd's reply and the [antivirus] clamd address over arbitrary bytes:
// nothing throws, a virus name is printable and bounded, an address is
// either a unix path or a host with a port.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filter/clamd_protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  using mailfort::filter::VirusScan;
  VirusScan v = mailfort::filter::parse_clamd_reply(input);
  if (v.status == VirusScan::Status::Infected) {
    if (v.virus.empty() || v.virus.size() > mailfort::filter::kClamdMaxVirusName) std::abort();
    for (char c : v.virus)
      if (c < 0x20 || c > 0x7e) std::abort();
  }
  if (v.status == VirusScan::Status::Error) {
    if (v.error.empty() || v.error.size() > 300) std::abort();
    for (char c : v.error)
      if (c < 0x20 || c > 0x7e) std::abort();
  }
  std::string why;
  auto a = mailfort::filter::parse_clamd_address(input, why);
  if (a && a->is_unix() == (a->port != 0)) std::abort();
  if (!a && why.empty()) std::abort();
  return 0;
}
