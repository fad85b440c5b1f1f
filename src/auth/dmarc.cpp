#include "auth/dmarc.h"

#include <libpsl.h>

#include <algorithm>
#include <cctype>
#include <optional>

#include "proto/dmarc/dmarc_record.h"
#include "proto/mail/address.h"
#include "proto/mail/header.h"

namespace mailfort::auth {
namespace {

namespace pd = proto::dmarc;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string strip_dot(std::string_view s) {
  while (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return lower(s);
}

// The list is loaded once per process; libpsl contexts are read-only after
// loading, so every worker thread may share it. psl_latest(NULL) takes the
// newer of the system file (Debian's publicsuffix) and the built-in copy.
const psl_ctx_t* suffix_list() {
  static const psl_ctx_t* psl = [] {
    const psl_ctx_t* p = psl_latest(nullptr);
    return p != nullptr ? p : psl_builtin();
  }();
  return psl;
}

DmarcPolicy to_policy(pd::Policy p) {
  switch (p) {
    case pd::Policy::None:
      return DmarcPolicy::None;
    case pd::Policy::Quarantine:
      return DmarcPolicy::Quarantine;
    case pd::Policy::Reject:
      return DmarcPolicy::Reject;
  }
  return DmarcPolicy::None;
}

struct Lookup {
  enum class State { Found, Absent, TempError } state = State::Absent;
  pd::Record record;
  std::string problem;
};

// RFC 7489 6.6.3 steps 1-3: the TXT records at _dmarc.<domain> that
// start with v=DMARC1; exactly one valid one is the policy, none or
// several mean no policy here.
Lookup lookup(DnsSource& dns, const std::string& domain) {
  Lookup out;
  dns::Answer a = dns.query("_dmarc." + domain, dns::Type::TXT);
  using S = dns::Answer::Status;
  if (a.status == S::ServFail || a.status == S::Error || a.status == S::Bogus) {
    out.state = Lookup::State::TempError;
    out.problem = std::string("DNS ") + dns::status_name(a.status) + " for _dmarc." + domain;
    return out;
  }
  if (a.status != S::Ok) return out;
  std::vector<const std::string*> candidates;
  for (const auto& t : a.txt) {
    if (pd::looks_like_dmarc(t)) candidates.push_back(&t);
  }
  if (candidates.size() != 1) {
    if (candidates.size() > 1) out.problem = "several DMARC records at _dmarc." + domain;
    return out;
  }
  auto parsed = pd::parse_record(*candidates.front());
  if (!parsed.ok()) {
    out.problem =
        std::string("invalid DMARC record at _dmarc.") + domain + ": " + pd::record_error_name(parsed.error);
    return out;
  }
  out.state = Lookup::State::Found;
  out.record = std::move(parsed.record);
  return out;
}

// DMARCbis: a non-existent domain has no A, AAAA or MX record (NXDOMAIN
// for all three).
bool non_existent(DnsSource& dns, const std::string& domain) {
  for (auto t : {dns::Type::A, dns::Type::AAAA, dns::Type::MX}) {
    if (dns.query(domain, t).status != dns::Answer::Status::NxDomain) return false;
  }
  return true;
}

}  // namespace

std::string organizational_domain(std::string_view domain) {
  std::string d = strip_dot(domain);
  if (d.empty()) return d;
  const char* reg = psl_registrable_domain(suffix_list(), d.c_str());
  return reg != nullptr ? std::string(reg) : d;
}

bool aligned(std::string_view a, std::string_view b, bool strict) {
  std::string x = strip_dot(a), y = strip_dot(b);
  if (x.empty() || y.empty()) return false;
  if (strict) return x == y;
  return x == y || organizational_domain(x) == organizational_domain(y);
}

AuthorDomain author_domain(std::string_view header) {
  AuthorDomain out;
  auto block = proto::mail::parse_header_block(header);
  std::vector<std::string_view> values;
  for (const auto& f : block.fields) {
    if (f.name.size() != 4 || lower(f.name) != "from") continue;
    std::size_t value = f.begin + f.name.size() + 1;
    values.push_back(header.substr(value, f.end - value));
  }
  if (block.malformed && block.body_offset < header.size() &&
      proto::mail::hidden_field_after(header.substr(block.body_offset), {"From"})) {
    out.error = "a From header field after a malformed header line";
    return out;
  }
  if (values.empty()) {
    out.error = "no From header field";
    return out;
  }
  if (values.size() > 1) {
    out.error = "several From header fields";
    return out;
  }
  auto list = proto::mail::parse_address_list(values.front());
  if (!list.ok()) {
    out.error = std::string("From header field cannot be parsed (") +
                proto::mail::address_error_name(list.error) + ")";
    return out;
  }
  if (list.mailboxes.size() != 1) {
    out.error = list.mailboxes.empty() ? "From header field names no address"
                                       : "From header field names several addresses";
    return out;
  }
  const auto& m = list.mailboxes.front();
  if (m.domain_literal || m.domain.empty()) {
    out.error = "From header field has no domain name";
    return out;
  }
  out.domain = strip_dot(m.domain);
  return out;
}

DmarcOutcome check_dmarc(DnsSource& dns, const std::string& from_domain, const SpfOutcome* spf,
                         const std::vector<DkimResult>& dkim, int sample) {
  DmarcOutcome out;
  out.from_domain = strip_dot(from_domain);
  out.org_domain = organizational_domain(out.from_domain);
  Lookup found = lookup(dns, out.from_domain);
  bool at_org = false;
  if (found.state == Lookup::State::Absent && out.org_domain != out.from_domain) {
    std::string problem = found.problem;
    found = lookup(dns, out.org_domain);
    at_org = true;
    if (found.state == Lookup::State::Absent && found.problem.empty()) found.problem = problem;
  }
  if (found.state == Lookup::State::TempError) {
    out.result = DmarcResult::TempError;
    out.reason = found.problem;
    return out;
  }
  if (found.state == Lookup::State::Absent) {
    out.result = DmarcResult::None;
    out.reason = found.problem.empty() ? "no DMARC record" : found.problem;
    return out;
  }
  const pd::Record& rec = found.record;
  out.policy_domain = at_org ? out.org_domain : out.from_domain;
  out.policy = to_policy(rec.p);
  if (at_org) {
    if (rec.sp) out.policy = to_policy(*rec.sp);
    if (rec.np && non_existent(dns, out.from_domain)) out.policy = to_policy(*rec.np);
  }
  for (const auto& u : rec.rua) {
    if (u.uri.size() > 7 && lower(u.uri.substr(0, 7)) == "mailto:") out.rua.push_back(u.uri);
  }
  bool strict_spf = rec.aspf == pd::Alignment::Strict;
  bool strict_dkim = rec.adkim == pd::Alignment::Strict;
  out.spf_aligned = spf != nullptr && spf->result == SpfResult::Pass && spf->identity == "mailfrom" &&
                    aligned(spf->domain, out.from_domain, strict_spf);
  out.dkim_aligned = std::any_of(dkim.begin(), dkim.end(), [&](const DkimResult& d) {
    return d.status == DkimStatus::Pass && aligned(d.domain, out.from_domain, strict_dkim);
  });
  if (out.spf_aligned || out.dkim_aligned) {
    out.result = DmarcResult::Pass;
    return out;
  }
  out.result = DmarcResult::Fail;
  out.sampled_out = rec.pct < 100 && sample >= rec.pct;
  out.reason = "neither SPF nor DKIM aligned with " + out.from_domain;
  return out;
}

DmarcPolicy effective_policy(const DmarcOutcome& outcome) {
  if (!outcome.sampled_out) return outcome.policy;
  switch (outcome.policy) {
    case DmarcPolicy::Reject:
      return DmarcPolicy::Quarantine;
    default:
      return DmarcPolicy::None;
  }
}

}  // namespace mailfort::auth
