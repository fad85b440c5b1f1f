// Vacation's pure part on hostile input: the robot/list checks and the
// reply composed from any original message and any script values. The
// reply must never carry a line break from a script value in its header.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sieve/vacation.h"

using namespace mailfort::sieve;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Layout: sender \0 subject \0 from \0 reason \0 message
  std::string_view parts[4];
  for (auto& p : parts) {
    auto z = in.find('\0');
    if (z == std::string_view::npos) return 0;
    p = in.substr(0, z);
    in.remove_prefix(z + 1);
  }
  VacationContext ctx{std::string(parts[0]), {"bob@example.org"}};
  VacationReply v;
  v.subject = std::string(parts[1]);
  v.from = std::string(parts[2]);
  v.reason = std::string(parts[3]);
  v.addresses = {std::string(parts[2])};
  v.mime = !v.reason.empty() && v.reason[0] == 'M';
  (void)should_reply(in, ctx, v);
  std::string reply =
      compose_reply(in, v, {"bob@example.org", std::string(parts[0]), "mx.example.org", "u", 0});
  // The header ends at the first blank line; every header line is a field
  // or a fold, never a line a script smuggled in.
  auto end = reply.find("\r\n\r\n");
  if (end == std::string::npos) abort();
  std::string_view head(reply.data(), end + 2);
  for (std::size_t pos = 0; pos < head.size();) {
    auto nl = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, nl - pos);
    pos = nl + 2;
    if (line.empty()) abort();
    if (line[0] == ' ' || line[0] == '\t') continue;
    static const std::string_view known[] = {
        "From:",        "To:",         "Subject:",        "Date:",        "Message-ID:",
        "In-Reply-To:", "References:", "Auto-Submitted:", "MIME-Version:"};
    bool ok = false;
    for (auto k : known) ok = ok || line.substr(0, k.size()) == k;
    if (!ok && !v.mime && line.substr(0, 13) != "Content-Type:" &&
        line.substr(0, 26) != "Content-Transfer-Encoding:")
      abort();
    if (v.mime && !ok) break;  // the entity's own header follows MIME-Version
  }
  (void)encode_header_words(parts[1]);
  return 0;
}
