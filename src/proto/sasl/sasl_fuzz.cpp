// libFuzzer target: SASL. Strict base64 round-trips, PLAIN messages, and
// the exchange driven by the input's lines (first line: mechanism and
// optional initial response, then one response per line). Checks
// invariants: at most two challenges (LOGIN's), credentials only with a
// password and an authorization identity that is empty or the login.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/sasl/exchange.h"
#include "base/base64.h"
#include "proto/sasl/sasl.h"

using namespace mailfort::proto::sasl;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto decoded = mailfort::base64::decode(in)) {
    (void)parse_plain(*decoded);
    if (mailfort::base64::encode(*decoded) != in) std::abort();
  }

  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos <= in.size();) {
    auto nl = in.find('\n', pos);
    if (nl == std::string_view::npos) nl = in.size();
    lines.push_back(in.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::string_view command = lines.front();
  auto sp = command.find(' ');
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) initial = command.substr(sp + 1);
  Exchange e;
  Step s = e.start(command.substr(0, sp), initial, kPlain | kLogin);
  int challenges = 0;
  for (std::size_t i = 1; s.kind == Step::Kind::Challenge; ++i) {
    if (++challenges > 2) std::abort();
    s = e.respond(i < lines.size() ? lines[i] : std::string_view());
  }
  if (s.kind == Step::Kind::Done) {
    const auto& c = s.credentials;
    if (c.password.empty() || (!c.authzid.empty() && c.authzid != c.authcid)) std::abort();
  }
  return 0;
}
