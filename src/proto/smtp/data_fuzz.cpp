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

#include "proto/smtp/bdat.h"
#include "proto/smtp/command.h"
#include "proto/smtp/data_reader.h"
#include "proto/smtp/envelope.h"
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
  (void)read_mail_from(in, 4096);
  (void)read_rcpt_to(in, size % 2 == 0);
  (void)parse_bdat_args(in);
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

  // The input as BDAT chunks of varying sizes: what is kept stays within
  // the limit and every chunk is consumed to its end.
  ChunkReceiver chunks(kMax);
  uint64_t kept = 0;
  for (std::size_t pos = 0, i = 0; pos < size; ++i) {
    std::size_t n = std::min<std::size_t>(size - pos, (data[pos] % 5) * 1000 + i);
    chunks.begin_chunk({n, pos + n == size}, true, true);
    while (chunks.remaining() > 0) {
      std::size_t part = std::min<uint64_t>(chunks.remaining(), step);
      auto admit = chunks.admit(part);
      if (admit == ChunkReceiver::Admit::Keep) kept += part;
      if (admit == ChunkReceiver::Admit::DropMessage) kept = 0;
    }
    if (kept > kMax) std::abort();
    auto outcome = chunks.end_chunk();
    if (outcome != ChunkReceiver::Outcome::ChunkAccepted) kept = 0;
    pos += n;
  }
  return 0;
}
