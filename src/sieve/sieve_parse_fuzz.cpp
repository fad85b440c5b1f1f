// compile() (parser + compiler) on arbitrary bytes: must never crash, hang
// or grow without bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sieve/compile.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = mailfort::sieve::compile(text);
  if (!r.ok() && r.errors.empty()) __builtin_trap();  // a failure always says why
  return 0;
}
