// PLACEHOLDER: replaced by the matching helper.
#include "sieve/message_access.h"

namespace mailfort::sieve {

struct MessageAccess::Impl {};
MessageAccess::MessageAccess(std::string_view message) : message_(message), impl_(new Impl) {}
MessageAccess::~MessageAccess() {
  delete impl_;
}
std::vector<std::string> MessageAccess::header(std::string_view name, bool decode) const {
  return {};
}
bool MessageAccess::has_header(std::string_view name) const {
  return false;
}
std::vector<std::string> MessageAccess::addresses(std::string_view name) const {
  return {};
}
std::string_view MessageAccess::body_raw() const {
  return {};
}
std::vector<std::string> MessageAccess::body_content(const std::vector<std::string>& types) const {
  return {};
}
std::vector<std::string> MessageAccess::body_text() const {
  return {};
}
std::optional<std::string> address_part(std::string_view address, AddressPart part,
                                        std::string_view separator) {
  return std::string(address);
}
std::optional<DateTime> parse_date(std::string_view value) {
  return std::nullopt;
}
std::optional<int> parse_zone(std::string_view zone) {
  return std::nullopt;
}
std::optional<std::string> date_part(const DateTime& dt, std::string_view part, int zone_minutes) {
  return std::nullopt;
}
bool is_date_part(std::string_view part) {
  return false;
}

}  // namespace mailfort::sieve
