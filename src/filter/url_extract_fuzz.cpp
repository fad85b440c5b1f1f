// libFuzzer target: URL extraction from text and from HTML on arbitrary
// bytes (untrusted: every message's text and HTML parts go through it).
// Checks the bounds the callers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "filter/url_extract.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const auto& urls : {mailfort::filter::extract_urls(in, 64), mailfort::filter::extract_html_urls(in, 64)}) {
    if (urls.size() > 64) std::abort();
    for (const auto& u : urls) {
      if (u.text.size() > 2048 || u.host.empty() || u.host.size() > 253) std::abort();
    }
  }
  return 0;
}
