// PLACEHOLDER (helper i13-checks replaces this file).
#include "filter/spam_headers.h"

namespace mailfort::filter {
std::string spam_header_fields(const ScanResult&) {
  return "";
}
std::string spamd_bar(double) {
  return "/";
}
std::string strip_spam_headers(std::string_view message) {
  return std::string(message);
}
const std::vector<std::string>& spam_header_names() {
  static const std::vector<std::string> n;
  return n;
}
}  // namespace mailfort::filter
