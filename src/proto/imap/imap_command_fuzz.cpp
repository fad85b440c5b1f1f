// libFuzzer target: IMAP command parser and literal detection on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/imap/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mailfort::proto::imap::parse_command(text);
  if (r.command) {
    for (const auto& range : r.command->set.ranges) (void)range;
    (void)r.command->set.contains(5, 10);
  }
  (void)mailfort::proto::imap::trailing_literal(text);
  (void)mailfort::proto::imap::mutf7_decode(text);
  (void)mailfort::proto::imap::mutf7_encode(text);
  (void)mailfort::proto::imap::list_match(text.substr(0, size / 2), text.substr(size / 2), '/');
  return 0;
}
