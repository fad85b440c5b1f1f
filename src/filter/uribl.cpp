// PLACEHOLDER (helper i13-rules replaces this file).
#include "filter/uribl.h"

namespace mailfort::filter {
std::unique_ptr<UrlBlocklist> make_url_blocklist(std::shared_ptr<dns::Resolver>, std::vector<std::string>,
                                                 std::size_t) {
  return nullptr;
}
std::string uribl_symbol(const std::string& zone) {
  return "URIBL_" + zone;
}
}  // namespace mailfort::filter
