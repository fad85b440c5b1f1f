// libFuzzer target: the milter reply decoder and the reply parsers on
// arbitrary bytes (untrusted: they come from a separate daemon). The first
// byte picks the decoder's split points and packet limit, so packets cut
// anywhere and oversized ones are exercised.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/milter/milter.h"

namespace pm = mailfort::proto::milter;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 16;
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  pm::ReplyDecoder decoder(data[0] & 0x80 ? 64 : 1 << 20);
  for (std::size_t i = 0; i < in.size(); i += step) {
    if (!decoder.feed(in.substr(i, step))) break;
    while (auto r = decoder.next()) {
      (void)pm::parse_header_change(r->code, r->data);
      if (r->code == pm::ReplyCode::OptNeg) (void)pm::parse_optneg(r->data);
      if (r->code == pm::ReplyCode::ReplyCode) (void)pm::parse_replycode(r->data);
      (void)pm::split_nul_strings(r->data);
    }
  }
  // The parsers on the raw input as well.
  (void)pm::parse_optneg(in);
  (void)pm::parse_replycode(in);
  (void)pm::parse_header_change(pm::ReplyCode::AddHeader, in);
  (void)pm::parse_header_change(pm::ReplyCode::InsHeader, in);
  (void)pm::parse_header_change(pm::ReplyCode::ChgHeader, in);
  (void)pm::split_nul_strings(in);
  return 0;
}
