// libFuzzer target: IMAP command parser, literal detection and the command
// assembler on arbitrary bytes. Invariants: the assembler never lets a
// command past its limits, and feeding literals a byte at a time gives what
// feeding them whole gives.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/imap/command.h"
#include "proto/imap/command_assembler.h"

namespace {

using mailfort::proto::imap::AssembledCommand;
using mailfort::proto::imap::AssemblerLimits;
using mailfort::proto::imap::CommandAssembler;

struct Fed {
  CommandAssembler::Next end = CommandAssembler::Next::Line;
  AssembledCommand command;
  std::string replies;
  std::size_t consumed = 0;
};

// The session's loop over one command, CRLF lines and `chunk` literal bytes at a time.
Fed feed(std::string_view in, const AssemblerLimits& limits, std::size_t chunk) {
  using Next = CommandAssembler::Next;
  CommandAssembler a(limits);
  CommandAssembler::Step step;
  Fed f;
  std::size_t pos = 0;
  while (true) {
    f.replies += step.reply;
    if (step.next == Next::Complete) {
      f.command = a.take();
      break;
    }
    if (step.next == Next::Refused) break;
    if (step.next == Next::Line) {
      auto crlf = in.find("\r\n", pos);
      if (crlf == std::string_view::npos) break;
      step = a.line(in.substr(pos, crlf - pos));
      pos = crlf + 2;
      continue;
    }
    std::size_t want = std::min<uint64_t>(a.literal_left(), chunk);
    if (want > 0 && pos >= in.size()) break;
    want = std::min(want, in.size() - pos);
    step = a.literal(in.substr(pos, want));
    pos += want;
  }
  f.end = step.next;
  f.consumed = pos;
  return f;
}

}  // namespace

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

  for (bool logged_in : {false, true}) {
    AssemblerLimits limits{256, 1024, logged_in, 3, 2048};
    auto whole = feed(text, limits, SIZE_MAX);
    auto bytes = feed(text, limits, 1);
    if (whole.end != bytes.end || whole.command.text != bytes.command.text ||
        whole.command.messages != bytes.command.messages || whole.replies != bytes.replies ||
        whole.consumed != bytes.consumed)
      std::abort();
    if (whole.end == CommandAssembler::Next::Complete) {
      uint64_t total = 0;
      for (const auto& m : whole.command.messages) {
        if (m.size() > limits.max_message) std::abort();
        total += m.size();
      }
      if (whole.command.text.size() > limits.max_command + 2 + 5 * whole.command.messages.size() ||
          whole.command.messages.size() > limits.max_messages || total > limits.max_total)
        std::abort();
      if (!whole.command.messages.empty() && !logged_in) std::abort();
      auto parsed = mailfort::proto::imap::parse_command(whole.command.text);
      if (parsed.command) (void)mailfort::proto::imap::attach_cut_literals(*parsed.command, whole.command.messages);
    }
  }
  return 0;
}
