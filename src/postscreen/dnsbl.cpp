// DNS blocklists: see dnsbl.h.
#include "postscreen/dnsbl.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

#include "dns/resolver.h"

namespace mailfort::postscreen {

std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view list_domain) {
  std::string text(ip);
  unsigned char b[16];
  std::string name;
  if (inet_pton(AF_INET, text.c_str(), b) == 1) {
    char part[8];
    for (int i = 3; i >= 0; --i) {
      std::snprintf(part, sizeof part, "%u.", b[i]);
      name += part;
    }
  } else if (inet_pton(AF_INET6, text.c_str(), b) == 1) {
    static const char* hex = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
      name.push_back(hex[b[i] & 15]);
      name.push_back('.');
      name.push_back(hex[b[i] >> 4]);
      name.push_back('.');
    }
  } else {
    return std::nullopt;
  }
  return name + std::string(list_domain);
}

std::vector<DnsblSite> parse_dnsbl_sites(const std::vector<std::string>& texts) {
  std::vector<DnsblSite> out;
  for (const auto& t : texts) {
    auto parsed = parse_dnsbl_site(t);
    if (parsed.site) out.push_back(std::move(*parsed.site));
  }
  return out;
}

DnsblScore score_dnsbl(const std::vector<DnsblSite>& sites,
                       const std::vector<std::optional<DnsblAnswer>>& answers) {
  DnsblScore s;
  for (std::size_t i = 0; i < sites.size() && i < answers.size(); ++i) {
    const auto& a = answers[i];
    if (!a || a->status != DnsblAnswer::Status::Listed) continue;
    bool hit = std::any_of(a->addresses.begin(), a->addresses.end(),
                           [&](const std::string& addr) { return sites[i].matches(addr); });
    if (!hit) continue;
    s.score += sites[i].weight;
    s.listed_by.push_back(sites[i].domain);
  }
  return s;
}

DnsblAnswer DnsblLookup::lookup(const std::string& list_domain, const std::string& ip) {
  std::string key = list_domain + " " + ip;
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires > now) return it->second.answer;
      cache_.erase(it);
    }
  }
  DnsblAnswer out;
  auto name = dnsbl_query_name(ip, list_domain);
  if (!name) return out;  // Failed: not an address we can ask about
  dns::Answer a = resolver_->query(*name, dns::Type::A);
  uint32_t ttl = a.ttl;
  switch (a.status) {
    case dns::Answer::Status::Ok:
      out.status = DnsblAnswer::Status::Listed;
      out.addresses = a.addresses;
      break;
    case dns::Answer::Status::NxDomain:
    case dns::Answer::Status::NoData:
      out.status = DnsblAnswer::Status::NotListed;
      if (ttl == 0) ttl = kDefaultNegativeSeconds;
      break;
    default:
      return out;  // Failed, never cached: the next client asks again
  }
  if (ttl == 0) return out;
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxEntries) {
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
    if (cache_.size() >= kMaxEntries) cache_.clear();
  }
  cache_[key] = Cached{out, now + std::chrono::seconds(std::min(ttl, kMaxSeconds))};
  return out;
}

}  // namespace mailfort::postscreen
