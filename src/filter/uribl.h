// URL blocklists ([spam] uribl): each distinct host name of a message's URLs
// and its registered domain (the Public Suffix List) looked up as
// <name>.<zone> A in every zone, in parallel, answers cached for their TTL.
// 127.0.0.0/8 answers are listings (see is_uribl_listing for the codes
// that are not). Bounded: at most max_hosts names a message, at most 8
// questions in flight, and check() returns at its timeout whatever is
// still unanswered (late answers still fill the cache).
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
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

// One A question as check() sees it; the seam that lets unit tests answer
// without DNS (make_url_blocklist with a resolver asks dns::Resolver).
struct UriblAnswer {
  enum class Status { Found, NotFound, Failed };
  Status status = Status::Failed;
  std::vector<std::string> addresses;
  uint32_t ttl = 0;  // seconds; 0 = none given
};
using UriblLookup = std::function<UriblAnswer(const std::string& name)>;
std::unique_ptr<UrlBlocklist> make_url_blocklist_with_lookup(UriblLookup lookup,
                                                             std::vector<std::string> zones,
                                                             std::size_t max_hosts = 50);

// The names looked up for a message's URLs, distinct, at most max_hosts:
// each host's registered domain, then the host itself when it differs;
// an IPv4 host as its reversed octets (as SURBL lists IPs: 2.0.0.192 for
// 192.0.0.2); IPv6 hosts and names that cannot be in the DNS are skipped.
std::vector<std::string> uribl_query_names(const std::vector<Url>& urls, std::size_t max_hosts);

// Whether an A answer of a list means "listed": 127.0.0.0/8 except
// 127.0.0.1 (SURBL's and URIBL's "query refused") and 127.255.255.0/24
// (Spamhaus' error codes); any other address is a resolver's wildcard.
bool is_uribl_listing(const std::string& address);

// Symbol of one zone: "URIBL_" + the zone upper-cased, dots and dashes as '_'.
std::string uribl_symbol(const std::string& zone);

}  // namespace mailfort::filter
