#include "outbound/delivery_route.h"

#include <asio/ip/address.hpp>

#include "base/text.h"
#include "directory/directory.h"
#include "dns/resolver.h"
#include "outbound/mta_sts.h"
#include "server/services.h"
#include "tls/client.h"

namespace mailfort::outbound {
namespace {

const std::string kRelayPrefix = "relay:";

std::vector<std::string> split(const std::string& s, const std::string& seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (seps.find(c) != std::string::npos) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// "match=a:b" -> {a, b} (Postfix tlspolicies params; '|' also accepted for fingerprints)
std::vector<std::string> match_param(const std::string& params) {
  for (auto& p : split(params, " \t")) {
    if (p.rfind("match=", 0) == 0) return split(p.substr(6), ":|,");
  }
  return {};
}

// "MX lookup for example.com failed (bogus: reason)"
std::string lookup_error(dns::Type type, const std::string& name, const dns::Answer& a) {
  return std::string(dns::type_name(type)) + " lookup for " + name + " failed (" +
         dns::status_name(a.status) + (a.why_bogus.empty() ? "" : ": " + a.why_bogus) + ")";
}

// The TLS policy for a next hop: its tlspolicies row, else [delivery]
// default_tls_policy.
struct PolicyChoice {
  std::string policy, params;
  bool from_row = false;
};
PolicyChoice tls_policy_of(server::Services& svc, const config::Config& cfg, const std::string& name) {
  PolicyChoice c{cfg.delivery.default_tls_policy, {}, false};
  if (auto row = svc.directory->find_tls_policy(name); row && row.value())
    c = {row.value()->policy, row.value()->params, true};
  return c;
}

}  // namespace

HostAddresses addresses_of(dns::Resolver& dns, const std::string& host) {
  HostAddresses out;
  for (auto type : {dns::Type::A, dns::Type::AAAA}) {
    auto a = dns.query(host, type);
    if (a.status == dns::Answer::Status::Ok) {
      for (auto& ip : a.addresses) out.ips.push_back(ip);
      out.secure = out.secure || a.secure;
    } else if (a.status == dns::Answer::Status::Bogus || a.status == dns::Answer::Status::ServFail) {
      out.error = lookup_error(type, host, a);
    }
  }
  return out;
}

std::string domain_of(std::string_view addr) {
  auto at = addr.rfind('@');
  return at == std::string_view::npos ? std::string() : to_lower(addr.substr(at + 1));
}

// Builds the TLS requirement for one MX host under `policy` (blocking: DNS).
// Returns false with `error` when the policy cannot be met at all (defer).
bool tls_for_host(dns::Resolver& dns, const std::string& policy, const std::string& params,
                  const std::string& domain, const std::string& host, bool mx_secure,
                  const std::string& min_version, TlsRequirement& t, std::string& error, TlsResult* failure) {
  TlsResult ignored;
  TlsResult& fail = failure ? *failure : ignored;
  t.policy = policy;
  t.params.sni = host;
  t.params.min_version = min_version;
  if (policy == "none") {
    t.attempt = false;
    return true;
  }
  if (policy == "may") return true;
  if (policy == "encrypt") {
    t.mandatory = true;
    return true;
  }
  if (policy == "fingerprint") {
    t.mandatory = true;
    t.params.verify = tls::ClientParams::Verify::Fingerprint;
    t.params.fingerprints = match_param(params);
    if (t.params.fingerprints.empty()) {
      error = "fingerprint policy without match= digests";
      return false;
    }
    return true;
  }
  if (policy == "verify" || policy == "secure") {
    t.mandatory = true;
    t.params.verify = tls::ClientParams::Verify::Ca;
    auto names = match_param(params);
    if (names.empty()) {
      // Postfix defaults: verify matches the MX host name; secure the
      // next-hop domain and its subdomains (an insecure MX lookup cannot
      // redirect it).
      if (policy == "verify")
        names = {host};
      else
        names = {domain, "." + domain};
    }
    t.params.match_names = names;
    return true;
  }
  // dane / dane-only (RFC 7672): TLSA only counts when the MX lookup and
  // the TLSA lookup are both DNSSEC-secure.
  bool only = policy == "dane-only";
  if (!mx_secure) {
    if (only) {
      fail = TlsResult::DaneRequired;
      error = "dane-only: MX lookup for " + domain + " is not DNSSEC-secure";
      return false;
    }
    return true;  // opportunistic, like "may"
  }
  auto a = dns.query("_25._tcp." + host, dns::Type::TLSA);
  // RFC 7672 2.2: anything but a (validated) answer or denial of existence
  // is a failure; treating it as "no TLSA" would let an attacker downgrade.
  if (a.status != dns::Answer::Status::Ok && a.status != dns::Answer::Status::NoData &&
      a.status != dns::Answer::Status::NxDomain) {
    fail = TlsResult::DnssecInvalid;
    t.report.type = "tlsa";
    error = lookup_error(dns::Type::TLSA, host, a);
    return false;
  }
  if (a.status != dns::Answer::Status::Ok || !a.secure) {
    if (only) {
      fail = TlsResult::DaneRequired;
      error = "dane-only: no secure TLSA records for " + host;
      return false;
    }
    return true;
  }
  t.report = {"tlsa", a.text, {}};
  for (auto& txt : a.text) {
    auto f = split(txt, " ");
    if (f.size() != 4) continue;
    tls::Tlsa r;
    r.usage = static_cast<uint8_t>(std::stoi(f[0]));
    r.selector = static_cast<uint8_t>(std::stoi(f[1]));
    r.mtype = static_cast<uint8_t>(std::stoi(f[2]));
    r.data = tls::hex_to_bytes(f[3]);
    // RFC 7672 3.1.3: only DANE-TA(2) and DANE-EE(3) are usable for SMTP.
    if ((r.usage == 2 || r.usage == 3) && !r.data.empty()) t.params.tlsa.push_back(std::move(r));
  }
  if (t.params.tlsa.empty()) {
    // Unusable TLSA records: mandatory unauthenticated TLS (RFC 7672 2.2).
    t.mandatory = true;
    return true;
  }
  t.mandatory = true;
  t.params.verify = tls::ClientParams::Verify::Dane;
  t.params.dane_base_domain = host;
  return true;
}

Route resolve_route(server::Services& svc, const config::Config& cfg, const std::string& domain) {
  Route route;
  auto& dns = *svc.resolver;
  PolicyChoice policy = tls_policy_of(svc, cfg, domain);
  auto mx = dns.query(domain, dns::Type::MX);
  std::vector<std::string> hosts;
  bool mx_secure = mx.secure;
  switch (mx.status) {
    case dns::Answer::Status::Ok:
      if (mx.mx.size() == 1 && mx.mx[0].host.empty()) {
        route.permanent = true;
        route.error = "556 5.1.10 " + domain + " does not accept mail (null MX)";
        return route;
      }
      for (auto& m : mx.mx)
        if (!m.host.empty()) hosts.push_back(m.host);
      break;
    case dns::Answer::Status::NoData:
      hosts.push_back(domain);  // RFC 5321 5.1: implicit MX
      break;
    case dns::Answer::Status::NxDomain:
      route.permanent = true;
      route.error = "550 5.1.2 domain " + domain + " does not exist";
      return route;
    default:
      route.error = lookup_error(dns::Type::MX, domain, mx);
      return route;
  }
  // MTA-STS (RFC 8461) only where no tlspolicies row decides.
  std::optional<proto::mtasts::Policy> sts;
  if (!policy.from_row && cfg.delivery.mta_sts && svc.mta_sts) {
    auto found = svc.mta_sts->lookup(dns, domain, cfg.delivery.ca_file);
    sts = std::move(found.policy);
    if (found.failure) route.tls_failures.push_back({domain, {"sts", {}, {}}, "", "", *found.failure});
  }
  std::string last_error;
  for (auto& host : hosts) {
    HostAddresses addrs = addresses_of(dns, host);
    auto& ips = addrs.ips;
    if (ips.empty()) {
      last_error = addrs.error.empty() ? "no address for MX host " + host : addrs.error;
      continue;
    }
    TlsRequirement t;
    std::string why;
    TlsResult failure = TlsResult::ValidationFailure;
    if (!tls_for_host(dns, policy.policy, policy.params, domain, host, mx_secure,
                      cfg.delivery.min_tls_version, t, why, &failure)) {
      route.tls_failures.push_back({domain, t.report, host, ips.front(), failure});
      last_error = why;
      continue;
    }
    if (sts && !apply_mta_sts(*sts, domain, host, t, why)) {
      route.tls_failures.push_back(
          {domain, sts_report_policy(*sts), host, ips.front(), TlsResult::ValidationFailure});
      last_error = why;
      continue;
    }
    for (auto& ip : ips) route.targets.push_back({host, ip, t});
  }
  if (route.targets.empty()) {
    route.error = last_error.empty() ? "no usable MX host for " + domain : last_error;
    return route;
  }
  route.ok = true;
  return route;
}

std::string tls_key(const TlsRequirement& t) {
  const auto& p = t.params;
  std::string k = t.policy + "|" + (t.attempt ? "1" : "0") + (t.mandatory ? "1" : "0") + "|" + p.sni + "|" +
                  std::to_string(static_cast<int>(p.verify)) + "|" + p.dane_base_domain + "|" + p.min_version;
  for (auto& f : p.fingerprints) k += "|f:" + f;
  for (auto& n : p.match_names) k += "|n:" + n;
  for (auto& n : p.report_names) k += "|r:" + n;
  for (auto& r : p.tlsa)
    k += "|t:" + std::to_string(r.usage) + "." + std::to_string(r.selector) + "." + std::to_string(r.mtype) +
         ":" + std::string(r.data.begin(), r.data.end());
  return k;
}

bool parse_relay_host(const std::string& spec, RelayHost& out) {
  out = {};
  std::string rest = spec;
  if (rest.empty()) return false;
  if (rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close == 1) return false;
    out.host = rest.substr(1, close - 1);
    out.mx = false;
    rest = rest.substr(close + 1);
  } else {
    auto colon = rest.rfind(':');
    out.host = rest.substr(0, colon);
    rest = colon == std::string::npos ? std::string() : rest.substr(colon);
    if (out.host.empty() || out.host.find(':') != std::string::npos) return false;
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) return false;
    unsigned long port = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return false;
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) return false;
    out.port = static_cast<uint16_t>(port);
  }
  return true;
}

Route resolve_relay(server::Services& svc, const config::Config& cfg, const RelayHost& relay) {
  if (relay.mx) {
    // MX lookup of the relay's name; resolve_route takes the tlspolicies
    // row of that name, as Postfix does for its next-hop domain.
    Route r = resolve_route(svc, cfg, relay.host);
    r.port = relay.port;
    return r;
  }
  Route route;
  route.port = relay.port;
  auto& dns = *svc.resolver;
  PolicyChoice policy = tls_policy_of(svc, cfg, relay.host);
  HostAddresses addrs;
  asio::error_code ec;
  auto literal = asio::ip::make_address(relay.host, ec);
  if (!ec)
    addrs.ips.push_back(literal.to_string());
  else
    addrs = addresses_of(dns, relay.host);
  auto& ips = addrs.ips;
  if (ips.empty()) {
    route.error = "no address for relay host " + relay.host;
    return route;
  }
  TlsRequirement t;
  if (!tls_for_host(dns, policy.policy, policy.params, relay.host, relay.host, addrs.secure,
                    cfg.delivery.min_tls_version, t, route.error))
    return route;
  for (auto& ip : ips) route.targets.push_back({relay.host, ip, t});
  route.ok = true;
  return route;
}

std::string destination_of(const std::string& recipient, const std::string& relay_host) {
  return relay_host.empty() ? domain_of(recipient) : kRelayPrefix + relay_host;
}

bool is_relay_destination(const std::string& dest) {
  return dest.rfind(kRelayPrefix, 0) == 0;
}

Route resolve_destination(server::Services& svc, const config::Config& cfg, const std::string& dest) {
  if (is_relay_destination(dest)) {
    RelayHost relay;
    if (!parse_relay_host(dest.substr(kRelayPrefix.size()), relay)) {
      Route r;
      r.error = "invalid [delivery] relay_host " + dest.substr(kRelayPrefix.size());
      return r;
    }
    return resolve_relay(svc, cfg, relay);
  }
  return resolve_route(svc, cfg, dest);
}

}  // namespace mailfort::outbound
