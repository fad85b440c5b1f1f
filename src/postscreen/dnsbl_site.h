// One entry of [inbound] dnsbl in Postfix's postscreen_dnsbl_sites syntax:
//   domain[=filter][*weight]
// e.g. "zen.spamhaus.org*2", "b.barracudacentral.org=127.0.0.2*1",
// "list.dnswl.org=127.0.[0..255].[0..255]*-2", "x.example=127.0.0.[2;4;10..11]".
// The filter is four dot-separated octet patterns: a number 0..255 or a
// bracketed list of numbers and ranges "a..b" separated by ';'. Without a
// filter any A record counts; without a weight the weight is 1. A negative
// weight makes the site an allow-list.
//
// Pure; faces the config text (validated at load) and DNS answers (the A
// records a list returns). Linear in the input; a filter is four 256-bit
// sets whatever it says.
#pragma once
#include <array>
#include <bitset>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::postscreen {

// Weights are bounded so a sum over many lists cannot overflow and a typo
// ("*2000") stands out.
inline constexpr int kMaxDnsblWeight = 100;

struct DnsblSite {
  std::string domain;  // lower-case, no trailing dot
  // One set of allowed values per octet of the A record; nullopt = any.
  std::optional<std::array<std::bitset<256>, 4>> filter;
  int weight = 1;

  // Whether the A record `address` (dotted IPv4 text) counts for this site.
  bool matches(std::string_view address) const;
};

struct DnsblSiteParse {
  std::optional<DnsblSite> site;
  std::string error;  // why not, when !site
};

DnsblSiteParse parse_dnsbl_site(std::string_view text);

}  // namespace mailfort::postscreen
