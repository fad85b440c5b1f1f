// Route resolution for outbound delivery: where mail for a destination
// goes (MX hosts by preference, implicit MX, null MX, addresses) and the
// TLS requirement per host (tlspolicies row or [delivery]
// default_tls_policy; DANE only from DNSSEC-secure MX and TLSA answers).
// Also the relay host ([delivery] relay_host, Postfix relayhost syntax).
// Blocking (DNS, directory): call on the worker pool.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "outbound/smtp_client.h"
#include "outbound/tlsrpt.h"

namespace mailfort::dns {
class Resolver;
}
namespace mailfort::server {
struct Services;
}

namespace mailfort::outbound {

struct Target {
  std::string host;
  std::string ip;
  TlsRequirement tls;
};

struct Route {
  bool ok = false;
  bool permanent = false;
  std::string error;
  bool local = false;
  std::vector<Target> targets;
  uint16_t port = 0;  // 0: [delivery] remote_port
  // TLS report failures found while resolving (MTA-STS policy fetch, TLSA
  // lookup, dane-only without TLSA, MX outside an enforced policy), counted
  // once per connection set-up.
  std::vector<TlsSessionRecord> tls_failures;
};

// The lower-cased domain of an address ("" without '@').
std::string domain_of(std::string_view addr);

// The A and AAAA records of `host`, in that order (blocking: DNS).
// `secure`: some answer was DNSSEC-secure; `error` names the last lookup
// that failed (bogus, servfail), where no answer is not an error.
struct HostAddresses {
  std::vector<std::string> ips;
  bool secure = false;
  std::string error;
};
HostAddresses addresses_of(dns::Resolver& dns, const std::string& host);

// Builds the TLS requirement for one MX host under `policy` (blocking: DNS).
// Returns false with `error` when the policy cannot be met at all (defer);
// `failure` (if given) then says why for TLS reports.
bool tls_for_host(dns::Resolver& dns, const std::string& policy, const std::string& params,
                  const std::string& domain, const std::string& host, bool mx_secure,
                  const std::string& min_version, TlsRequirement& t, std::string& error,
                  TlsResult* failure = nullptr);

Route resolve_route(server::Services& svc, const config::Config& cfg, const std::string& domain);

// Everything a TLS requirement demands, as one comparable string: a cached
// connection is reused only under the requirement a fresh one would get.
std::string tls_key(const TlsRequirement& t);

// [delivery] relay_host: "[host]:port" (no MX lookup), "host:port" or
// "host" (MX lookup of host). TLS policy: a tlspolicies row for the host
// name, else the default policy.
struct RelayHost {
  std::string host;
  uint16_t port = 0;  // 0: [delivery] remote_port
  bool mx = true;
};
bool parse_relay_host(const std::string& spec, RelayHost& out);
Route resolve_relay(server::Services& svc, const config::Config& cfg, const RelayHost& relay);

// A destination, what the delivery engine queues jobs and opens
// connections for: the recipient's domain, or "relay:<relay_host>" when
// [delivery] relay_host is set.
std::string destination_of(const std::string& recipient, const std::string& relay_host);
bool is_relay_destination(const std::string& dest);
// The route to a destination: resolve_route for a domain, resolve_relay
// for the relay host.
Route resolve_destination(server::Services& svc, const config::Config& cfg, const std::string& dest);

}  // namespace mailfort::outbound
