// The checks that read what others found: GTUBE, the mail authentication
// verdict (SPF, DKIM, DMARC, ARC) and the client IP's DNSBL/DNSWL listings.
// Symbol names are Rspamd's where it has one; the weights are in
// docs/spam-filter.md.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include "auth/message_auth.h"
#include "base/text.h"
#include "filter/checks.h"
#include "filter/message_view.h"

namespace mailfort::filter {
namespace {

constexpr std::string_view kGtube = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

void add(std::vector<Symbol>& out, std::string name, double score, std::vector<std::string> options = {}) {
  out.push_back(Symbol{std::move(name), score, std::move(options)});
}

void add_spf(const auth::Verdict& v, std::vector<Symbol>& out) {
  if (!v.spf) {
    add(out, "R_SPF_NA", 0);
    return;
  }
  const auth::SpfOutcome& s = *v.spf;
  std::vector<std::string> opts;
  if (!s.problem.empty())
    opts.push_back(s.problem);
  else if (!s.domain.empty())
    opts.push_back(s.domain);
  switch (s.result) {
    case auth::SpfResult::Pass:
      add(out, "R_SPF_ALLOW", -0.2, opts);
      break;
    case auth::SpfResult::Fail:
      add(out, "R_SPF_FAIL", 1.0, opts);
      break;
    case auth::SpfResult::SoftFail:
      add(out, "R_SPF_SOFTFAIL", 0.6, opts);
      break;
    case auth::SpfResult::Neutral:
      add(out, "R_SPF_NEUTRAL", 0, opts);
      break;
    case auth::SpfResult::None:
      add(out, "R_SPF_NA", 0, opts);
      break;
    case auth::SpfResult::TempError:
      add(out, "R_SPF_DNSFAIL", 0, opts);
      break;
    case auth::SpfResult::PermError:
      add(out, "R_SPF_PERMFAIL", 0, opts);
      break;
  }
}

void add_dkim(const auth::Verdict& v, std::vector<Symbol>& out) {
  if (v.dkim.empty()) {
    add(out, "R_DKIM_NA", 0);
    return;
  }
  // One symbol per outcome, the signing domains as options (Rspamd writes
  // "domain:s=selector").
  std::vector<std::string> allow, reject, temp, perm;
  for (const auto& d : v.dkim) {
    std::string opt = d.domain.empty() ? std::string("?") : d.domain + ":s=" + d.selector;
    switch (d.status) {
      case auth::DkimStatus::Pass:
        allow.push_back(opt);
        break;
      case auth::DkimStatus::Fail:
        reject.push_back(opt);
        break;
      case auth::DkimStatus::TempError:
        temp.push_back(opt);
        break;
      default:
        perm.push_back(opt);
        break;
    }
  }
  if (!allow.empty()) add(out, "R_DKIM_ALLOW", -0.2, allow);
  if (!reject.empty()) add(out, "R_DKIM_REJECT", 1.0, reject);
  if (!temp.empty()) add(out, "R_DKIM_TEMPFAIL", 0, temp);
  if (!perm.empty()) add(out, "R_DKIM_PERMFAIL", 0, perm);
}

void add_dmarc(const auth::Verdict& v, std::vector<Symbol>& out) {
  const auth::DmarcOutcome& d = v.dmarc;
  std::vector<std::string> opts;
  if (!d.from_domain.empty()) opts.push_back(d.from_domain);
  switch (d.result) {
    case auth::DmarcResult::Pass:
      add(out, "DMARC_POLICY_ALLOW", -0.5, opts);
      return;
    case auth::DmarcResult::None:
      add(out, "DMARC_NA", 0, opts);
      return;
    case auth::DmarcResult::TempError:
      add(out, "DMARC_DNSFAIL", 0, opts);
      return;
    case auth::DmarcResult::PermError:
      add(out, "DMARC_BAD_POLICY", 0.5, opts);
      return;
    case auth::DmarcResult::Fail:
      break;
  }
  opts.push_back(auth::dmarc_policy_name(d.policy));
  if (v.arc_override) opts.push_back("arc-override");
  switch (d.policy) {
    case auth::DmarcPolicy::Reject:
      add(out, "DMARC_POLICY_REJECT", 2.0, opts);
      break;
    case auth::DmarcPolicy::Quarantine:
      add(out, "DMARC_POLICY_QUARANTINE", 1.5, opts);
      break;
    case auth::DmarcPolicy::None:
      add(out, "DMARC_POLICY_SOFTFAIL", 0.1, opts);
      break;
  }
}

void add_arc(const auth::Verdict& v, std::vector<Symbol>& out) {
  switch (v.arc.chain) {
    case auth::ArcChain::Pass: {
      std::vector<std::string> opts;
      if (!v.arc.newest_domain.empty()) opts.push_back(v.arc.newest_domain);
      add(out, "ARC_ALLOW", -1.0, opts);
      break;
    }
    case auth::ArcChain::Fail:
      add(out, "ARC_REJECT", 1.0, {v.arc.reason});
      break;
    case auth::ArcChain::None:
      add(out, "ARC_NA", 0);
      break;
  }
}

// "zen.spamhaus.org" -> "ZEN_SPAMHAUS_ORG".
std::string list_symbol_part(std::string_view list) {
  std::string s = to_upper(list);
  for (auto& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

}  // namespace

std::string check_gtube(const MessageView& view) {
  // The decoded text first (a base64 test message), then the raw body
  // (a part the view did not decode as text).
  if (view.all_text().find(kGtube) != std::string::npos) return "Gtube pattern";
  if (view.body().find(kGtube) != std::string_view::npos) return "Gtube pattern";
  return "";
}

void check_auth(const ScanInput& in, std::vector<Symbol>& out) {
  if (!in.verdict) return;  // not checked (submission, spam check without --ip)
  add_spf(*in.verdict, out);
  add_dkim(*in.verdict, out);
  add_dmarc(*in.verdict, out);
  add_arc(*in.verdict, out);
}

void check_ip_listings(const std::vector<IpListing>& listings, std::vector<Symbol>& out) {
  // Block lists weigh twice their [inbound] dnsbl weight (a weight-3 zen
  // listing is 6.0, the add-header threshold on its own); allow lists their
  // (negative) weight, at most -5.
  std::vector<Symbol> mine;
  for (const auto& l : listings) {
    std::string name = (l.allow ? "RCVD_IN_DNSWL_" : "RBL_") + list_symbol_part(l.list);
    double score =
        l.allow ? std::max(-5.0, static_cast<double>(std::min(l.weight, 0))) : 2.0 * std::max(l.weight, 0);
    auto same = std::find_if(mine.begin(), mine.end(), [&](const Symbol& s) { return s.name == name; });
    if (same != mine.end()) {
      // The same list twice (two return-code filters): keep the stronger.
      if (std::abs(score) > std::abs(same->score)) same->score = score;
      same->options.push_back(l.address);
      continue;
    }
    mine.push_back(Symbol{name, score, {l.address}});
  }
  out.insert(out.end(), mine.begin(), mine.end());
}

}  // namespace mailfort::filter
