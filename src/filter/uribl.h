// URL blocklists ([spam] uribl): each distinct host name of a message's URLs
// and its registered domain (the Public Suffix List) looked up as
// <name>.<zone> A in every zone, in parallel, answers cached for their TTL.
// 127.0.0.x answers are listings (127.255.255.x, the Spamhaus "query
// refused" codes, are not). Bounded: at most max_hosts names a message.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "filter/scan.h"

namespace mailfort::dns {
class Resolver;
}

namespace mailfort::filter {

struct Url;

struct UriblHit {
  std::string zone;     // "dbl.spamhaus.org"
  std::string name;     // the looked-up host or domain
  std::string address;  // the A answer (127.0.1.2)
};

class UrlBlocklist {
 public:
  virtual ~UrlBlocklist() = default;
  virtual std::vector<UriblHit> check(const std::vector<Url>& urls, std::chrono::milliseconds timeout) = 0;
};

std::unique_ptr<UrlBlocklist> make_url_blocklist(std::shared_ptr<dns::Resolver> resolver,
                                                 std::vector<std::string> zones, std::size_t max_hosts = 50);

// Symbol of one zone: "URIBL_" + the zone upper-cased, dots as '_'.
std::string uribl_symbol(const std::string& zone);

}  // namespace mailfort::filter
