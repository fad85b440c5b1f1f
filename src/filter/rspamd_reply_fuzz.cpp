// libFuzzer target: Rspamd's /checkv2 and learn answers (rspamd_reply.h).
// Whatever the bytes, parsing returns a result or an error: no crash, no
// unbounded work.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "filter/rspamd_reply.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto r = mailfort::filter::rspamd::parse_check_reply(body);
  if (r) {
    for (const auto& s : r->symbols) (void)s.options.size();
  }
  (void)mailfort::filter::rspamd::parse_learn_reply(size % 2 ? 200 : 208, body);
  (void)mailfort::filter::rspamd::header_value(body);
  return 0;
}
