// MTA-STS (RFC 8461) for outbound delivery: finds a recipient domain's
// policy and applies it to the MX hosts of a route.
//
// lookup(): the `_mta-sts.<domain>` TXT record through our validating
// resolver, then the policy over HTTPS from
// https://mta-sts.<domain>/.well-known/mta-sts.txt (tls/https_get.h:
// CA-verified, no redirects, 64 KiB cap, text/plain), the host resolved
// through the same resolver. Policies are cached in
// `<data_dir>/mta-sts/<domain>.json` with their id, fetch time and max_age,
// so a restart keeps them. A cached unexpired policy is used as long as
// the TXT id is unchanged; when the id changes it is refetched, and when
// that fails (or the TXT record disappears) the cached policy stays in
// force until it expires (5.1). Failed fetches are not retried for the
// same id for kRetryAfter seconds, so a broken domain costs one fetch per
// interval, not one per message. With a Redis ([state] backend = "redis")
// fetched policies are also kept there (key mtasts:<domain>, expiring
// with max_age), and a node without a current file takes the policy
// another node fetched before going to HTTPS: file, then Redis, then
// HTTPS. Blocking (DNS, HTTPS, files, Redis): call on
// the worker pool. Faces untrusted input (DNS, the HTTPS reply): parsed by
// proto/mtasts, invalid means no policy.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "outbound/smtp_client.h"
#include "proto/mtasts/mtasts.h"

namespace mailfort::dns {
class Resolver;
}
namespace mailfort::state {
class Redis;
}

namespace mailfort::outbound {

struct MtaStsLookup {
  std::optional<proto::mtasts::Policy> policy;  // nullopt: no (usable) policy
  std::string id;
  std::string source;  // "fetched", "cache" (for logs)
  // No policy in force because this lookup's fetch failed (TLS reports):
  // sts-policy-fetch-error or sts-policy-invalid.
  std::optional<TlsResult> failure;
};

class MtaStsCache {
 public:
  static constexpr int64_t kRetryAfter = 300;
  static constexpr std::size_t kMaxFailures = 10000;  // remembered failed fetches

  explicit MtaStsCache(std::string dir) : dir_(std::move(dir)) {}
  void set_redis(std::shared_ptr<state::Redis> redis) { redis_ = std::move(redis); }  // before use
  MtaStsLookup lookup(dns::Resolver& dns, const std::string& domain, const std::string& ca_file);

 private:
  struct Cached {
    std::string id;
    int64_t fetched = 0;
    proto::mtasts::Policy policy;
  };
  static std::optional<Cached> parse_cached(const std::string& text);  // the file's JSON; nullopt expired
  std::optional<Cached> load(const std::string& domain) const;
  std::optional<Cached> load_redis(const std::string& domain);  // also writes the file
  void store(const std::string& domain, const std::string& id, int64_t fetched,
             const std::string& body) const;

  void write_file(const std::string& domain, const std::string& json) const;
  std::string dir_;
  std::shared_ptr<state::Redis> redis_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, int64_t>> failures_;  // domain -> (id, time)
};

// Applies `policy` of `domain` to one MX host whose TLS requirement `t`
// was chosen by the default policy. enforce: a host outside the policy's
// mx patterns is refused (false, `why` says so); otherwise TLS becomes
// mandatory with a CA-verified certificate naming the host, unless DANE
// already protects it (RFC 8461 2: DANE takes precedence). testing: logs
// a host outside the patterns and asks the TLS layer to log a certificate
// that enforce would refuse; delivery goes on as without MTA-STS. none:
// nothing.
bool apply_mta_sts(const proto::mtasts::Policy& policy, const std::string& domain, const std::string& host,
                   TlsRequirement& t, std::string& why);

// The policy as a TLS report shows it: type "sts", the policy file's lines
// (RFC 8460 4.4 policy-string) and the mx patterns.
TlsReportPolicy sts_report_policy(const proto::mtasts::Policy& policy);

}  // namespace mailfort::outbound
