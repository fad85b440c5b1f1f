// DNS blocklists and allow-lists (postscreen_dnsbl_sites): the query name
// of a client address at a list, the lookups with their per-IP cache, and
// the weighted sum compared with [inbound] dnsbl_threshold.
//
// The lookups block (DNS on the worker pool); the SMTP layer runs one per
// list concurrently and gives up on those that take too long (a list that
// times out or fails counts 0). Answers are cached per (list, IP) for
// their DNS TTL, listed and not listed alike, so a client that reconnects
// does not query the lists again; failures are never cached.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "postscreen/dnsbl_site.h"

namespace mailfort::dns {
class Resolver;
}

namespace mailfort::state {
class Redis;
}

namespace mailfort::postscreen {

// "2.0.0.127.zen.example" for 127.0.0.2; IPv6 as 32 reversed nibbles.
// nullopt for text that is no IP address.
std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view list_domain);

// What one list said about one client.
struct DnsblAnswer {
  enum class Status { Listed, NotListed, Failed };
  Status status = Status::Failed;
  std::vector<std::string> addresses;  // the A records when Listed
};

// The sites of [inbound] dnsbl, parsed (entries that do not parse were
// refused at config load; they are skipped here).
std::vector<DnsblSite> parse_dnsbl_sites(const std::vector<std::string>& texts);

struct DnsblScore {
  int score = 0;
  std::vector<std::string> listed_by;  // sites whose filter matched, in config order
};
// Sums the weights of the sites whose answer matches their filter;
// `answers[i]` is site i's (nullopt = no answer in time: counts 0).
DnsblScore score_dnsbl(const std::vector<DnsblSite>& sites,
                       const std::vector<std::optional<DnsblAnswer>>& answers);

// The lookups, cached in memory and, with a Redis ([state] backend =
// "redis"), in Redis with the answer's TTL so one node's query serves every
// node: memory first, then Redis, then DNS. Thread-safe; lookup() blocks.
class DnsblLookup {
 public:
  explicit DnsblLookup(std::shared_ptr<dns::Resolver> resolver) : resolver_(std::move(resolver)) {}
  void set_redis(std::shared_ptr<state::Redis> redis) { redis_ = std::move(redis); }  // before use
  DnsblAnswer lookup(const std::string& list_domain, const std::string& ip);

 private:
  // An NXDOMAIN without an SOA has no TTL: kept this long.
  static constexpr uint32_t kDefaultNegativeSeconds = 60;
  static constexpr uint32_t kMaxSeconds = 3600;
  static constexpr std::size_t kMaxEntries = 50000;
  struct Cached {
    DnsblAnswer answer;
    std::chrono::steady_clock::time_point expires;
  };
  void remember(const std::string& key, const DnsblAnswer& answer, std::chrono::milliseconds ttl);
  std::optional<DnsblAnswer> from_redis(const std::string& key);
  std::shared_ptr<dns::Resolver> resolver_;
  std::shared_ptr<state::Redis> redis_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // "list ip"
};

}  // namespace mailfort::postscreen
