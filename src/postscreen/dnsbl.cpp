// DNS blocklists: see dnsbl.h.
#include "postscreen/dnsbl.h"

#include "state/redis.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

#include "dns/resolver.h"
#include "state/redis.h"

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

void DnsblLookup::remember(const std::string& key, const DnsblAnswer& answer, std::chrono::milliseconds ttl) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxEntries) {
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.expires <= now ? cache_.erase(it) : std::next(it);
    if (cache_.size() >= kMaxEntries) cache_.clear();
  }
  cache_[key] = Cached{answer, now + ttl};
}

// Redis value: "N" (not listed) or "L" and the A records, space-separated.
std::optional<DnsblAnswer> DnsblLookup::from_redis(const std::string& key) {
  const std::string rkey = redis_->key("dnsbl:" + key);
  auto r = redis_->pipeline({{"GET", rkey}, {"PTTL", rkey}});
  if (!r) {
    redis_->count_fallback();
    return std::nullopt;
  }
  const auto& value = r.value()[0];
  const int64_t pttl = r.value()[1].integer;
  if (value.type != state::RedisReply::Type::String || value.str.empty() || pttl <= 0) return std::nullopt;
  DnsblAnswer out;
  if (value.str[0] == 'N') {
    out.status = DnsblAnswer::Status::NotListed;
  } else if (value.str[0] == 'L') {
    out.status = DnsblAnswer::Status::Listed;
    std::size_t pos = 1;
    while (pos < value.str.size()) {
      auto end = value.str.find(' ', pos + 1);
      if (end == std::string::npos) end = value.str.size();
      if (end > pos + 1) out.addresses.push_back(value.str.substr(pos + 1, end - pos - 1));
      pos = end;
    }
  } else {
    return std::nullopt;
  }
  remember(key, out, std::chrono::milliseconds(pttl));
  return out;
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
  if (redis_) {
    if (auto shared = from_redis(key)) return *shared;
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
  ttl = std::min(ttl, kMaxSeconds);
  remember(key, out, std::chrono::seconds(ttl));
  if (redis_) {
    std::string value = out.status == DnsblAnswer::Status::Listed ? "L" : "N";
    for (const auto& addr : out.addresses) value += " " + addr;
    if (!redis_->command({"SET", redis_->key("dnsbl:" + key), value, "EX", std::to_string(ttl)}))
      redis_->count_fallback();
  }
  return out;
}

}  // namespace mailfort::postscreen
