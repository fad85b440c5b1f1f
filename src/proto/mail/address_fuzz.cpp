// libFuzzer target: the header address-list parser (proto/mail/address.h).
// Checks invariants, not just crashes: the limits hold, an error returns no
// addresses, every returned address has a local part and a lower-case
// domain, and a returned address list written back in canonical form
// ("<local@domain>, ...", quoting the local part) parses to the same list.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/mail/address.h"

using namespace mailfort::proto::mail;

namespace {

std::string quote_local(const HeaderMailbox& m) {
  if (!m.quoted) return m.local;
  std::string out = "\"";
  for (char c : m.local) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  AddressLimits limits{8, 4};
  auto r = parse_address_list(in, limits);
  if (!r.ok() && !r.mailboxes.empty()) std::abort();
  if (r.mailboxes.size() > limits.max_mailboxes) std::abort();
  std::string again;
  for (const auto& m : r.mailboxes) {
    if (m.local.empty() || m.domain.empty()) std::abort();
    for (char c : m.domain)
      if (c >= 'A' && c <= 'Z') std::abort();
    if (!again.empty()) again += ", ";
    again += "<" + quote_local(m) + "@" + m.domain + ">";
  }
  auto r2 = parse_address_list(again, limits);
  if (!r2.ok() || r2.mailboxes.size() != r.mailboxes.size()) std::abort();
  for (std::size_t i = 0; i < r.mailboxes.size(); ++i)
    if (r2.mailboxes[i].str() != r.mailboxes[i].str()) std::abort();
  return 0;
}
