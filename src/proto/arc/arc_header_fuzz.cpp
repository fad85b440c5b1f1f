// libFuzzer target: the three ARC header field parsers and the b= blanking
// on arbitrary bytes (untrusted: any received message carries them).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/arc/arc_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)mailfort::proto::arc::parse_arc_seal(in);
  (void)mailfort::proto::arc::parse_arc_message_signature(in);
  (void)mailfort::proto::arc::parse_arc_authentication_results(in);
  (void)mailfort::proto::arc::instance_of("ARC-Seal", in);
  (void)mailfort::proto::arc::instance_of("ARC-Authentication-Results", in);
  (void)mailfort::proto::arc::without_signature(in);
  return 0;
}
