// libFuzzer target: what Sieve tests read from a message and how they match
// it (sieve/message_access.h, sieve/match.h). Input layout: byte 0 picks the
// match type and comparator, then keys separated by NUL up to a 0x01 byte,
// then the message. Checks invariants, not just crashes: a :matches match
// of "*" captures the whole value, captures are never more than 10, every
// date that parses renders date parts that parse back to the same instant,
// and extraction never returns more text than the message could decode to.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/match.h"
#include "sieve/message_access.h"

using namespace mailfort::sieve;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 256 * 1024) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const unsigned char mode = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  std::vector<std::string> keys;
  std::size_t end = in.find('\x01');
  std::string_view key_part = in.substr(0, end == std::string_view::npos ? 0 : end);
  std::string_view message = end == std::string_view::npos ? in : in.substr(end + 1);
  while (!key_part.empty() && keys.size() < 8) {
    std::size_t nul = key_part.find('\0');
    keys.emplace_back(key_part.substr(0, nul));
    key_part = nul == std::string_view::npos ? std::string_view() : key_part.substr(nul + 1);
  }

  MatchSpec spec;
  spec.type = static_cast<MatchType>(mode % 6);
  spec.comparator = static_cast<Comparator>((mode / 6) % 3);
  spec.rel = static_cast<RelOp>((mode / 18) % 6);
  if (spec.type == MatchType::Regex)
    for (const std::string& k : keys) (void)check_regex(k);

  MessageAccess m(message);
  check(m.body_raw().size() <= message.size());
  std::vector<std::string> values;
  for (std::string_view name : {"subject", "from", "to", "date", "x-spam"}) {
    for (std::string& v : m.header(name)) values.push_back(std::move(v));
    for (std::string& a : m.addresses(name)) {
      for (AddressPart p :
           {AddressPart::LocalPart, AddressPart::Domain, AddressPart::User, AddressPart::Detail})
        if (auto part = address_part(a, p)) check(part->size() <= a.size());
      values.push_back(std::move(a));
    }
  }
  for (const std::string& s : m.body_content({"text", "multipart", "message/rfc822", "application"}))
    values.push_back(s);
  for (const std::string& d : m.header("date")) {
    auto dt = parse_date(d);
    if (!dt) continue;
    auto std11 = date_part(*dt, "std11", dt->zone_minutes);
    check(std11.has_value());
    auto back = parse_date(*std11);
    check(back && back->utc == dt->utc && back->zone_minutes == dt->zone_minutes);
    for (std::string_view p : {"year", "julian", "iso8601", "weekday", "zone"})
      check(date_part(*dt, p, 0).has_value());
  }
  values.emplace_back(message);

  for (const std::string& v : values) {
    std::vector<std::string> caps;
    if (spec.type == MatchType::Count) {
      (void)match_count(spec, v.size(), keys);
      continue;
    }
    if (match_value(spec, v, keys, &caps)) check(caps.size() <= 10);
    if (spec.type == MatchType::Matches && spec.comparator != Comparator::AsciiNumeric) {
      std::vector<std::string> star;
      check(match_value(spec, v, {"*"}, &star));
      check(star.size() == 2 && star[0] == v && star[1] == v);
    }
  }
  return 0;
}
