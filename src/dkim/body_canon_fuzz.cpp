// libFuzzer target: the streaming body canonicalizers, differentially. The
// input (a body, its first byte choosing a split point) is canonicalized in
// three chunks and must equal simple_body() / relaxed_body() of the whole,
// and the canonical form must be a fixed point (canonicalizing it again
// changes nothing).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dkim/canon.h"

using namespace mailfort::dkim;

namespace {

std::string streamed(bool relaxed, std::string_view body, std::size_t split) {
  std::string out;
  BodyCanonicalizer c(relaxed, [&](std::string_view s) { out.append(s); });
  c.feed(body.substr(0, split));
  c.feed(body.substr(split, (body.size() - split) / 2));
  c.feed(body.substr(split + (body.size() - split) / 2));
  c.finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::size_t split = data[0] % (body.size() + 1);
  std::string relaxed = relaxed_body(body);
  std::string simple = simple_body(body);
  if (streamed(true, body, split) != relaxed || streamed(false, body, split) != simple) std::abort();
  if (relaxed_body(relaxed) != relaxed || simple_body(simple) != simple) std::abort();
  return 0;
}
