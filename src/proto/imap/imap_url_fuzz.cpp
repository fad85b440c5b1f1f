// libFuzzer target: the IMAP URL parser (RFC 5092, RFC 4467) and the
// section and date-time parsers under it.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "proto/imap/imap_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto u = mailfort::proto::imap::parse_imap_url(text);
  if (u) {
    if (u->uid == 0 || u->rump_size > text.size() || u->rump != text.substr(0, u->rump_size)) std::abort();
    if (!u->section.empty()) (void)mailfort::proto::imap::url_section(u->section);
  }
  (void)mailfort::proto::imap::url_section(text);
  (void)mailfort::proto::imap::parse_rfc3339(text);
  return 0;
}
