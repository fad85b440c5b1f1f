// DNS resolution through libunbound, DNSSEC-validating, so every answer
// carries its "secure" status (needed for DANE). Calls block: the server
// makes them on its worker pool, never on an I/O thread. Thread-safe (one
// unbound context shared by all workers, as libunbound allows).
//
// Forwarders come from [dns] resolvers ("ip:port"); empty = /etc/resolv.conf;
// recursion = true resolves from the root. Tests point it at a fake DNS
// server on loopback. Faces untrusted input (answers from the network):
// record data is decoded with bounds checks and malformed records skipped.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"

struct ub_ctx;

namespace mailfort::dns {

struct Settings {
  std::vector<std::string> forwarders;  // "ip:port", "ip", "[v6]:port"
  bool recursion = false;
  std::string trust_anchor_file;  // empty = no DNSSEC trust anchor
};

enum class Type : uint16_t { A = 1, NS = 2, CNAME = 5, PTR = 12, MX = 15, TXT = 16, AAAA = 28, TLSA = 52 };
Result<Type> parse_type(const std::string& name);  // "MX", "a", ...
const char* type_name(Type t);

struct Mx {
  uint16_t preference = 0;
  std::string host;  // lower-case, no trailing dot ("" for null MX ".")
};

struct Answer {
  enum class Status { Ok, NxDomain, NoData, ServFail, Bogus, Error };
  Status status = Status::Error;
  bool secure = false;                 // validated by DNSSEC
  std::string why_bogus;               // validator's reason when Bogus
  std::vector<std::string> text;       // every record in presentation form
  std::vector<std::string> addresses;  // A/AAAA
  std::vector<Mx> mx;                  // sorted by preference
  std::vector<std::string> txt;        // one string per TXT record
  std::vector<std::string> names;      // PTR/CNAME/NS targets
  // Seconds the answer may be kept (what remains of it when it came from
  // the cache); for NXDOMAIN/NODATA the SOA minimum, 0 when there was none.
  uint32_t ttl = 0;
};

const char* status_name(Answer::Status s);

// Decoders for record data (exposed for tests and fuzzing).
std::string decode_name(const unsigned char* data, std::size_t len, std::size_t& pos, bool& ok);
bool decode_record(Type type, const unsigned char* data, std::size_t len, Answer& into);

class Resolver {
 public:
  static Result<std::shared_ptr<Resolver>> create(const Settings& settings);
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  Answer query(const std::string& name, Type type);
  Answer query_ptr(const std::string& ip);  // in-addr.arpa / ip6.arpa

 private:
  explicit Resolver(ub_ctx* ctx) : ctx_(ctx) {}
  Answer resolve(const std::string& name, Type type, uint32_t& ttl);

  ub_ctx* ctx_;
  // Answers within their TTL (at most kMaxCacheSeconds): libunbound's
  // synchronous ub_resolve sets up a whole resolver worker per call (~0.3
  // ms of CPU even on a cache hit), and delivery asks the same MX, A, AAAA
  // and _mta-sts names for every connection. Failures are never kept.
  struct Cached {
    Answer answer;
    std::chrono::steady_clock::time_point expires;
  };
  static constexpr uint32_t kMaxCacheSeconds = 300;
  static constexpr std::size_t kMaxCacheEntries = 20000;
  std::mutex cache_mu_;
  std::unordered_map<std::string, Cached> cache_;
};

}  // namespace mailfort::dns
