// The MIME checks (archive headers read from attacker bytes) and the spam
// headers over arbitrary messages: nothing throws or aborts, the headers we
// write stay well formed (every line ends CRLF, none longer than 998
// bytes, no bare CR or LF), and removing the spam fields never grows a
// message. (The header checks need the auth verdict type, outside the
// fuzzable part of the module; the unit tests cover them.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filter/checks.h"
#include "filter/message_view.h"
#include "filter/spam_headers.h"

namespace {

void check_header_text(const std::string& h) {
  std::size_t start = 0;
  while (start < h.size()) {
    auto end = h.find("\r\n", start);
    if (end == std::string::npos || end - start > 998) std::abort();
    for (std::size_t i = start; i < end; ++i)
      if (h[i] == '\r' || h[i] == '\n') std::abort();
    start = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mailfort::filter;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ViewLimits limits;
  limits.max_bytes = 1 << 16;
  MessageView view(input, limits);
  ScanResult r;
  check_mime(view, r.symbols);
  for (const auto& s : r.symbols) r.score += s.score;
  // Options that come from the message (file names) in the header.
  if (!r.symbols.empty()) r.symbols.front().options.emplace_back(input.substr(0, 2000));
  r.action = r.score >= 6 ? Action::AddHeader : Action::NoAction;
  check_header_text(spam_header_fields(r));
  if (strip_spam_headers(input).size() > input.size()) std::abort();
  return 0;
}
