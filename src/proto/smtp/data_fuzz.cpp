// libFuzzer target: the SMTP wire parsers (command line, EHLO argument,
// AUTH arguments, MAIL/RCPT paths) and the DATA reader (SASL has its own,
// proto/sasl/sasl_fuzz.cpp).
// Checks invariants, not just crashes: stored content never exceeds the
// limit, the reader never consumes past its end marker, and feeding the
// same input in pieces gives the same result as feeding it whole.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/smtp/command.h"
#include "proto/smtp/data_reader.h"
#include "proto/smtp/path.h"

using namespace mailfort::proto::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  auto cmd = parse_command(in);
  if (cmd.verb_text.size() > 16) std::abort();
  (void)is_valid_helo_domain(in);
  (void)parse_auth_args(in);
  (void)parse_path_args(in, "FROM");
  (void)parse_path_args(in, "TO");
  (void)parse_mailbox(in);

  constexpr uint64_t kMax = 4096;
  DataReader whole(kMax, 200);
  std::string out_whole;
  std::size_t used_whole = whole.feed(in, out_whole);
  if (out_whole.size() > kMax || used_whole > size) std::abort();

  DataReader pieces(kMax, 200);
  std::string out_pieces;
  std::size_t used = 0;
  std::size_t step = size % 7 + 1;
  while (used < size && !pieces.done()) {
    std::size_t n = std::min(step, size - used);
    used += pieces.feed(in.substr(used, n), out_pieces);
  }
  if (whole.done() != pieces.done() || out_whole != out_pieces || whole.error() != pieces.error())
    std::abort();
  if (whole.done() && used != used_whole) std::abort();
  return 0;
}
