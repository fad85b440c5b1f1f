// PLACEHOLDER (helper i13-rules replaces this file).
#include "filter/url_extract.h"

namespace mailfort::filter {
std::vector<Url> extract_urls(std::string_view, std::size_t) {
  return {};
}
std::vector<Url> extract_html_urls(std::string_view, std::size_t) {
  return {};
}
}  // namespace mailfort::filter
