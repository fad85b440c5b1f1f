#include "cli/dns_check.h"

#include <algorithm>
#include <sstream>

#include "base/text.h"
#include "cli/dns_records.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "outbound/dmarc_report.h"
#include "outbound/tlsrpt_report.h"
#include "proto/mtasts/mtasts.h"
#include "tls/certs.h"

namespace mailfort::cli {
namespace {

using dns::Answer;

struct Checker {
  dns::Resolver& dns;
  std::vector<RecordCheck> out;

  void add(CheckStatus s, const std::string& name, const std::string& type, const std::string& what,
           const std::string& detail) {
    out.push_back({s, name, type, what, what.empty() ? detail : what + ": " + detail});
  }
  // A lookup that neither answered nor said "no such record" is WRONG: we
  // cannot tell, and a resolver that fails for senders is as bad.
  bool failed(const Answer& a, const std::string& name, const std::string& type, const std::string& what) {
    if (a.status == Answer::Status::Ok || a.status == Answer::Status::NoData ||
        a.status == Answer::Status::NxDomain)
      return false;
    add(CheckStatus::Wrong, name, type, what,
        std::string("lookup failed (") + dns::status_name(a.status) + ")");
    return true;
  }
};

bool starts_with_tag(const std::string& txt, const std::string& version) {
  std::string t = to_lower(txt);
  std::string v = to_lower(version);
  return t.rfind(v, 0) == 0 && (t.size() == v.size() || t[v.size()] == ' ' || t[v.size()] == ';');
}

std::vector<std::string> with_prefix(const std::vector<std::string>& txt, const std::string& version) {
  std::vector<std::string> out;
  for (auto& t : txt)
    if (starts_with_tag(t, version)) out.push_back(t);
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(to_lower(w));
  return out;
}

// The value of tag `name` in a "k=v; k=v" record, whitespace removed.
std::string tag_value(const std::string& record, const std::string& name) {
  std::size_t pos = 0;
  while (pos <= record.size()) {
    auto semi = record.find(';', pos);
    std::string tag = record.substr(pos, semi == std::string::npos ? std::string::npos : semi - pos);
    auto eq = tag.find('=');
    if (eq != std::string::npos) {
      std::string key;
      for (char c : tag.substr(0, eq))
        if (c != ' ' && c != '\t') key += c;
      if (to_lower(key) == name) {
        std::string v;
        for (char c : tag.substr(eq + 1))
          if (c != ' ' && c != '\t' && c != '\r' && c != '\n') v += c;
        return v;
      }
    }
    if (semi == std::string::npos) break;
    pos = semi + 1;
  }
  return {};
}

void check_mx(Checker& c, const config::Config& cfg, const std::string& domain) {
  auto a = c.dns.query(domain, dns::Type::MX);
  if (c.failed(a, domain, "MX", "")) return;
  std::string host = to_lower(cfg.hostname);
  std::string listed;
  for (auto& mx : a.mx)
    listed += (listed.empty() ? "" : ", ") + std::to_string(mx.preference) + " " + mx.host;
  if (a.mx.empty())
    c.add(CheckStatus::Missing, domain, "MX", "", "no MX record (expected 10 " + host + ")");
  else if (std::none_of(a.mx.begin(), a.mx.end(), [&](const dns::Mx& m) { return m.host == host; }))
    c.add(CheckStatus::Wrong, domain, "MX", "", listed + " (expected " + host + ")");
  else
    c.add(CheckStatus::Ok, domain, "MX", "", listed);
}

void check_spf(Checker& c, const config::Config& cfg, const std::string& domain) {
  auto a = c.dns.query(domain, dns::Type::TXT);
  if (c.failed(a, domain, "TXT", "SPF")) return;
  auto spf = with_prefix(a.txt, "v=spf1");
  const std::string expected = "v=spf1 mx -all";
  if (spf.empty())
    return c.add(CheckStatus::Missing, domain, "TXT", "SPF", "no record (expected \"" + expected + "\")");
  if (spf.size() > 1)
    return c.add(CheckStatus::Wrong, domain, "TXT", "SPF", "several v=spf1 records (permerror)");
  std::string host = to_lower(cfg.hostname);
  bool names_us = false, closed = false;
  std::string all;
  for (auto& w : words(spf[0])) {
    std::string term = (w[0] == '+') ? w.substr(1) : w;
    if (term == "mx" || term == "mx:" + domain || term == "a:" + host || term.rfind("include:", 0) == 0 ||
        term.rfind("redirect=", 0) == 0)
      names_us = true;  // include/redirect: delegated, assumed to cover us
    if (term == "all" || w == "-all" || w == "~all" || w == "?all") all = w;
  }
  closed = all == "-all" || all == "~all";
  if (!names_us)
    c.add(CheckStatus::Wrong, domain, "TXT", "SPF",
          "\"" + spf[0] + "\" does not authorise the MX " + host + " (expected \"" + expected + "\")");
  else if (!closed && spf[0].find("redirect=") == std::string::npos)
    c.add(CheckStatus::Wrong, domain, "TXT", "SPF",
          "\"" + spf[0] + "\" lets any host send (no -all or ~all; expected \"" + expected + "\")");
  else
    c.add(CheckStatus::Ok, domain, "TXT", "SPF", "\"" + spf[0] + "\"");
}

Result<void> check_dkim(Checker& c, const config::Config& cfg, const std::string& domain) {
  auto keys = dkim::load_keys(cfg.data_dir, domain);
  if (!keys) return keys.error();
  if (keys->empty())
    c.add(CheckStatus::Missing, "_domainkey." + domain, "TXT", "DKIM",
          "no key (create one with `mailfort dkim keygen " + domain + "`)");
  for (auto& k : *keys) {
    std::string name = dkim::txt_name(k);
    std::string what = std::string("DKIM ") + k.selector;
    auto expected = dkim::public_key_base64(k.pem);
    if (!expected) return expected.error();
    auto a = c.dns.query(name, dns::Type::TXT);
    if (c.failed(a, name, "TXT", what)) continue;
    std::string found;
    bool any = false;
    for (auto& t : a.txt)
      if (t.find("p=") != std::string::npos) {
        any = true;
        if (tag_value(t, "p") == *expected) found = t;
      }
    if (!found.empty())
      c.add(CheckStatus::Ok, name, "TXT", what,
            std::string(dkim::algorithm_name(k.algorithm)) + " key matches");
    else if (any)
      c.add(CheckStatus::Wrong, name, "TXT", what,
            "published key differs from the active " + std::string(dkim::algorithm_name(k.algorithm)) +
                " key (see `mailfort dkim dns " + domain + "`)");
    else
      c.add(CheckStatus::Missing, name, "TXT", what,
            "no key record (see `mailfort dkim dns " + domain + "`)");
  }
  return {};
}

void check_dmarc(Checker& c, const std::string& domain) {
  std::string name = "_dmarc." + domain;
  auto a = c.dns.query(name, dns::Type::TXT);
  if (c.failed(a, name, "TXT", "DMARC")) return;
  auto recs = with_prefix(a.txt, "v=DMARC1");
  if (recs.empty())
    return c.add(CheckStatus::Missing, name, "TXT", "DMARC",
                 "no record (expected \"v=DMARC1; p=quarantine; rua=mailto:postmaster@" + domain + "\")");
  if (recs.size() > 1)
    return c.add(CheckStatus::Wrong, name, "TXT", "DMARC", "several v=DMARC1 records (ignored by receivers)");
  auto published = outbound::parse_dmarc_published(domain, recs);
  if (!published)
    return c.add(CheckStatus::Wrong, name, "TXT", "DMARC", "\"" + recs[0] + "\" has no valid p=");
  c.add(CheckStatus::Ok, name, "TXT", "DMARC",
        "p=" + published->p + (published->rua.empty() ? ", no rua=" : ""));
}

void check_mta_sts(Checker& c, const config::Config& cfg, const std::string& domain) {
  std::string name = "_mta-sts." + domain;
  auto a = c.dns.query(name, dns::Type::TXT);
  if (c.failed(a, name, "TXT", "MTA-STS")) return;
  auto recs = with_prefix(a.txt, "v=STSv1");
  std::string id = proto::mtasts::policy_id(mta_sts_policy_text(cfg));
  if (recs.empty())
    return c.add(CheckStatus::Missing, name, "TXT", "MTA-STS",
                 "no record (expected \"v=STSv1; id=" + id + ";\")");
  if (recs.size() > 1) return c.add(CheckStatus::Wrong, name, "TXT", "MTA-STS", "several v=STSv1 records");
  std::string got = tag_value(recs[0], "id");
  if (got != id)
    return c.add(CheckStatus::Wrong, name, "TXT", "MTA-STS",
                 "id=" + got + ", expected id=" + id + " (the id of the policy `mailfort dns` prints)");
  c.add(CheckStatus::Ok, name, "TXT", "MTA-STS", "id=" + id);
}

void check_tlsrpt(Checker& c, const std::string& domain) {
  std::string name = "_smtp._tls." + domain;
  auto a = c.dns.query(name, dns::Type::TXT);
  if (c.failed(a, name, "TXT", "TLSRPT")) return;
  auto rua = a.status == Answer::Status::Ok ? outbound::parse_tlsrpt_txt(a.txt) : std::nullopt;
  if (!rua) {
    if (!with_prefix(a.txt, "v=TLSRPTv1").empty())
      return c.add(CheckStatus::Wrong, name, "TXT", "TLSRPT", "several or invalid v=TLSRPTv1 records");
    return c.add(CheckStatus::Missing, name, "TXT", "TLSRPT",
                 "no record (expected \"v=TLSRPTv1; rua=mailto:postmaster@" + domain + "\")");
  }
  if (rua->empty()) return c.add(CheckStatus::Wrong, name, "TXT", "TLSRPT", "no rua=");
  std::string list;
  for (auto& u : *rua) list += (list.empty() ? "" : ",") + u;
  c.add(CheckStatus::Ok, name, "TXT", "TLSRPT", "rua=" + list);
}

Result<void> check_tlsa(Checker& c, const config::Config& cfg) {
  if (cfg.tls.cert.empty()) return {};
  std::string name = "_25._tcp." + to_lower(cfg.hostname);
  auto spki = tls::spki_sha256_hex(cfg.tls.cert);
  if (!spki) return spki.error();
  std::string expected = "3 1 1 " + to_lower(*spki);
  auto a = c.dns.query(name, dns::Type::TLSA);
  if (c.failed(a, name, "TLSA", "")) return {};
  if (a.text.empty()) {
    c.add(CheckStatus::Missing, name, "TLSA", "", "no record (expected " + expected + ")");
    return {};
  }
  for (auto& t : a.text)
    if (to_lower(t) == expected) {
      c.add(CheckStatus::Ok, name, "TLSA", "",
            expected + (a.secure ? "" : " (zone not DNSSEC-signed: DANE unused)"));
      return {};
    }
  c.add(CheckStatus::Wrong, name, "TLSA", "",
        "no record matches the certificate (expected " + expected + ")");
  return {};
}

void check_ptr(Checker& c, const config::Config& cfg) {
  std::string host = to_lower(cfg.hostname);
  std::vector<std::string> addresses;
  for (auto type : {dns::Type::A, dns::Type::AAAA}) {
    auto a = c.dns.query(host, type);
    if (c.failed(a, host, dns::type_name(type), "")) continue;
    addresses.insert(addresses.end(), a.addresses.begin(), a.addresses.end());
  }
  if (addresses.empty()) return c.add(CheckStatus::Missing, host, "A", "", "the MX host has no address");
  for (auto& ip : addresses) {
    auto a = c.dns.query_ptr(ip);
    if (c.failed(a, ip, "PTR", "")) continue;
    if (a.names.empty())
      c.add(CheckStatus::Missing, ip, "PTR", "", "no PTR (expected " + host + ")");
    else if (std::find(a.names.begin(), a.names.end(), host) == a.names.end())
      c.add(CheckStatus::Wrong, ip, "PTR", "", a.names[0] + " (expected " + host + ")");
    else
      c.add(CheckStatus::Ok, ip, "PTR", "", host);
  }
}

}  // namespace

Result<std::vector<RecordCheck>> check_dns(const config::Config& cfg, const std::string& domain,
                                           dns::Resolver& dns) {
  Checker c{dns, {}};
  std::string d = to_lower(domain);
  check_mx(c, cfg, d);
  check_spf(c, cfg, d);
  if (auto r = check_dkim(c, cfg, d); !r) return r.error();
  check_dmarc(c, d);
  check_mta_sts(c, cfg, d);
  check_tlsrpt(c, d);
  if (auto r = check_tlsa(c, cfg); !r) return r.error();
  check_ptr(c, cfg);
  return std::move(c.out);
}

std::string format_check(const RecordCheck& c) {
  const char* word = c.status == CheckStatus::Ok        ? "OK"
                     : c.status == CheckStatus::Missing ? "MISSING"
                                                        : "WRONG";
  return std::string(word) + " " + c.name + " " + c.type + ": " + c.detail;
}

}  // namespace mailfort::cli
