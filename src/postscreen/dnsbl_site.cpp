// postscreen_dnsbl_sites entries: see dnsbl_site.h.
#include "postscreen/dnsbl_site.h"

#include <charconv>

#include "base/text.h"

namespace mailfort::postscreen {
namespace {

// "0".."255" without sign or leading garbage; nullopt otherwise.
std::optional<unsigned> octet_value(std::string_view s) {
  if (s.empty() || s.size() > 3) return std::nullopt;
  unsigned v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > 255) return std::nullopt;
  return v;
}

// One octet pattern: "N" or "[item;item...]" with items "N" or "A..B".
bool parse_octet(std::string_view s, std::bitset<256>& set) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    std::string_view items = s.substr(1, s.size() - 2);
    if (items.empty()) return false;
    while (true) {
      auto semi = items.find(';');
      std::string_view item = items.substr(0, semi);
      auto dots = item.find("..");
      if (dots == std::string_view::npos) {
        auto v = octet_value(item);
        if (!v) return false;
        set.set(*v);
      } else {
        auto lo = octet_value(item.substr(0, dots));
        auto hi = octet_value(item.substr(dots + 2));
        if (!lo || !hi || *lo > *hi) return false;
        for (unsigned v = *lo; v <= *hi; ++v) set.set(v);
      }
      if (semi == std::string_view::npos) break;
      items.remove_prefix(semi + 1);
    }
    return true;
  }
  auto v = octet_value(s);
  if (!v) return false;
  set.set(*v);
  return true;
}

bool parse_filter(std::string_view s, std::array<std::bitset<256>, 4>& filter) {
  for (int i = 0; i < 4; ++i) {
    auto dot = s.find('.');
    // A '.' inside brackets belongs to a range ("0..255"): skip past ']'.
    if (!s.empty() && s.front() == '[') {
      auto close = s.find(']');
      if (close == std::string_view::npos) return false;
      dot = close + 1 < s.size() ? close + 1 : std::string_view::npos;
      if (dot != std::string_view::npos && s[dot] != '.') return false;
    }
    if ((i < 3) != (dot != std::string_view::npos)) return false;
    if (!parse_octet(s.substr(0, dot), filter[i])) return false;
    if (i < 3) s.remove_prefix(dot + 1);
  }
  return true;
}

std::optional<int> parse_weight(std::string_view s) {
  bool negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s.size() > 3) return std::nullopt;
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v > kMaxDnsblWeight) return std::nullopt;
  return negative ? -v : v;
}

}  // namespace

bool DnsblSite::matches(std::string_view address) const {
  std::array<unsigned, 4> octets{};
  for (int i = 0; i < 4; ++i) {
    auto dot = address.find('.');
    if ((i < 3) != (dot != std::string_view::npos)) return false;
    auto v = octet_value(address.substr(0, dot));
    if (!v) return false;
    octets[i] = *v;
    if (i < 3) address.remove_prefix(dot + 1);
  }
  if (!filter) return true;
  for (int i = 0; i < 4; ++i)
    if (!(*filter)[i].test(octets[i])) return false;
  return true;
}

DnsblSiteParse parse_dnsbl_site(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return DnsblSiteParse{std::nullopt, "dnsbl site \"" + std::string(text) + "\": " + why};
  };
  DnsblSite site;
  std::string_view rest = text;
  // The weight goes last and the filter has no '*', so the last '*' starts it.
  if (auto star = rest.rfind('*'); star != std::string_view::npos) {
    auto w = parse_weight(rest.substr(star + 1));
    if (!w) return bad("the weight after '*' must be an integer from -100 to 100");
    site.weight = *w;
    rest = rest.substr(0, star);
  }
  if (auto eq = rest.find('='); eq != std::string_view::npos) {
    std::array<std::bitset<256>, 4> filter;
    if (!parse_filter(rest.substr(eq + 1), filter)) {
      return bad("the filter after '=' must be four octets, each N or [N;A..B;...] (e.g. 127.0.0.[2..11])");
    }
    site.filter = filter;
    rest = rest.substr(0, eq);
  }
  std::string domain = to_lower(rest);
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  // Room for the reversed IPv6 nibbles (64 octets) in front of it.
  if (domain.size() > 180 || !is_valid_domain(domain) || domain.find('.') == std::string::npos) {
    return bad("'" + std::string(rest) + "' is not a DNS list domain");
  }
  site.domain = std::move(domain);
  return DnsblSiteParse{std::move(site), {}};
}

}  // namespace mailfort::postscreen
