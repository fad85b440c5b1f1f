#include "cli/dns_records.h"

#include <optional>

#include "dkim/dkim.h"
#include "proto/mtasts/mtasts.h"
#include "tls/certs.h"

namespace mailfort::cli {
namespace {

// Port of the first listener for `protocol` with TLS mode `tls`.
std::optional<uint16_t> listener_port(const config::Config& cfg, config::Protocol protocol,
                                      bool implicit_tls) {
  for (const auto& l : cfg.listeners)
    if (l.protocol == protocol && (l.tls == config::TlsMode::implicit) == implicit_tls) return l.port;
  return std::nullopt;
}

}  // namespace

std::string mta_sts_policy_text(const config::Config& cfg) {
  proto::mtasts::Policy policy;
  policy.mode = proto::mtasts::Mode::Enforce;
  policy.mx = {cfg.hostname};
  policy.max_age = 604800;
  return proto::mtasts::format_policy(policy);
}

Result<std::string> dns_records(const config::Config& cfg, const std::string& domain) {
  const std::string d = domain + ".";
  const std::string host = cfg.hostname + ".";
  std::string out = "; DNS records for " + domain + " (mailfort dns " + domain + ")\n";
  auto add = [&](const std::string& comment, const std::string& record) {
    out += "\n; " + comment + "\n" + record + "\n";
  };

  add("MX: mail for " + domain + " is delivered to this server.", d + " IN MX 10 " + host);
  add("SPF (RFC 7208): only the domain's MX hosts send its mail; everything else fails.",
      d + " IN TXT \"v=spf1 mx -all\"");

  auto keys = dkim::load_keys(cfg.data_dir, domain);
  if (!keys) return keys.error();
  if (keys->empty()) out += "\n; DKIM: no key yet; create one with `mailfort dkim keygen " + domain + "`.\n";
  for (const auto& k : *keys) {
    auto zone = dkim::zone_record(k);
    if (!zone) return zone.error();
    add(std::string("DKIM (RFC 6376): public key of selector ") + k.selector + " (" +
            dkim::algorithm_name(k.algorithm) + "); outgoing mail is signed with it.",
        *zone);
  }

  add("DMARC (RFC 7489): mail failing SPF and DKIM alignment goes to spam; aggregate reports to postmaster.",
      "_dmarc." + d + " IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@" + domain + "\"");

  auto policy_text = mta_sts_policy_text(cfg);
  add("MTA-STS (RFC 8461): senders require verified TLS to " + cfg.hostname +
          ". The id changes with the policy file.",
      "_mta-sts." + d + " IN TXT \"v=STSv1; id=" + proto::mtasts::policy_id(policy_text) + ";\"");
  out += "; Serve this file as https://mta-sts." + domain +
         "/.well-known/mta-sts.txt (Content-Type: text/plain) with a certificate for mta-sts." + domain +
         ",\n; and give mta-sts." + domain + " an address (A/AAAA or CNAME to the web server):\n";
  std::size_t pos = 0;
  while (pos < policy_text.size()) {
    auto eol = policy_text.find("\r\n", pos);
    out += ";   " + policy_text.substr(pos, eol - pos) + "\n";
    pos = eol + 2;
  }

  add("TLSRPT (RFC 8460): where senders report TLS failures (MTA-STS, DANE).",
      "_smtp._tls." + d + " IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@" + domain + "\"");

  if (cfg.tls.cert.empty()) {
    out += "\n; TLSA: no [tls] cert configured.\n";
  } else {
    auto spki = tls::spki_sha256_hex(cfg.tls.cert);
    if (!spki) return spki.error();
    add("TLSA (RFC 7672, DANE-EE SPKI SHA-256) of " + cfg.tls.cert +
            "; publish it in a DNSSEC-signed zone, and the new key's record before a key change.",
        "_25._tcp." + host + " IN TLSA 3 1 1 " + *spki);
  }

  out += "\n; SRV (RFC 6186, RFC 8314): mail client autoconfiguration; port 0 and \".\" = not offered.\n";
  struct Srv {
    const char* service;
    config::Protocol protocol;
    bool implicit_tls;
  };
  const Srv srvs[] = {{"_submissions", config::Protocol::submission, true},
                      {"_submission", config::Protocol::submission, false},
                      {"_imaps", config::Protocol::imap, true},
                      {"_imap", config::Protocol::imap, false},
                      {"_pop3s", config::Protocol::pop3, true}};
  for (const auto& s : srvs) {
    auto port = listener_port(cfg, s.protocol, s.implicit_tls);
    out += std::string(s.service) + "._tcp." + d + " IN SRV " +
           (port ? "0 1 " + std::to_string(*port) + " " + host : std::string("0 0 0 .")) + "\n";
  }
  return out;
}

}  // namespace mailfort::cli
