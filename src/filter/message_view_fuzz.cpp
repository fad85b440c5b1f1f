// The message view over arbitrary bytes: every limit holds, nothing throws.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "filter/message_view.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mailfort::filter::ViewLimits limits;
  limits.max_bytes = 1 << 16;
  limits.max_parts = 50;
  limits.max_text_bytes = 4096;
  mailfort::filter::MessageView view(input, limits);
  if (view.raw().size() > limits.max_bytes) std::abort();
  if (view.all_text().size() > limits.max_text_bytes + view.text_parts().size()) std::abort();
  (void)view.values("subject");
  (void)mailfort::filter::html_to_text(input);
  return 0;
}
