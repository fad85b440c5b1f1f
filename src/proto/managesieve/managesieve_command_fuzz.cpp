// Fuzzes the ManageSieve command parser: the input is split at LF into lines
// fed in turn; a requested literal takes its bytes from the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/managesieve/command.h"

using namespace mailfort::proto::managesieve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_literal = 4096;
  limits.max_command = 8192;
  CommandParser p(limits);
  while (!in.empty()) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    auto st = p.feed_line(line);
    while (st == CommandParser::Status::NeedLiteral) {
      std::size_t n = std::min(p.literal_size(), in.size());
      p.feed_literal(std::string(in.substr(0, n)));
      in.remove_prefix(n);
      auto nl2 = in.find('\n');
      std::string_view rest = in.substr(0, nl2);
      in = nl2 == std::string_view::npos ? std::string_view() : in.substr(nl2 + 1);
      st = p.feed_line(rest);
    }
    if (st == CommandParser::Status::Complete) {
      auto c = p.take();
      for (const auto& a : c.args) (void)response("OK", "", a.text);
    }
  }
  return 0;
}
