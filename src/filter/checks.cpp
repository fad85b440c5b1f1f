// PLACEHOLDER (helper i13-checks replaces this file).
#include "filter/checks.h"

namespace mailfort::filter {
std::string check_gtube(const MessageView&) {
  return "";
}
void check_auth(const ScanInput&, std::vector<Symbol>&) {}
void check_ip_listings(const std::vector<IpListing>&, std::vector<Symbol>&) {}
void check_headers(const MessageView&, const ScanInput&, std::time_t, std::vector<Symbol>&) {}
void check_mime(const MessageView&, std::vector<Symbol>&) {}
}  // namespace mailfort::filter
