#include "auth/message_auth.h"

#include <sys/random.h>

#include <algorithm>
#include <cctype>

#include "auth/dmarc.h"
#include "auth/results_header.h"
#include "proto/dmarc/auth_results.h"

namespace mailfort::auth {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// pct= sampling: uniform in 0..99.
int sample_percent() {
  uint32_t r = 0;
  if (getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) return 0;
  return static_cast<int>(r % 100);
}

// RFC 8617 7.2.1 / RFC 7489 local policy: a forwarder we trust, whose
// chain verified, vouches that the message passed DMARC when it first saw
// it (its i=1 ARC-Authentication-Results).
bool trusted_arc_pass(const ArcOutcome& arc, const Checks& checks) {
  if (arc.chain != ArcChain::Pass || arc.newest_domain.empty()) return false;
  bool trusted = std::any_of(checks.arc_trusted_forwarders.begin(), checks.arc_trusted_forwarders.end(),
                             [&](const std::string& d) { return iequal(d, arc.newest_domain); });
  if (!trusted) return false;
  auto ar = proto::dmarc::parse_auth_results(arc.oldest_results);
  return proto::dmarc::result_of(ar, "dmarc") == "pass";
}

}  // namespace

const char* dmarc_result_name(DmarcResult r) {
  switch (r) {
    case DmarcResult::None:
      return "none";
    case DmarcResult::Pass:
      return "pass";
    case DmarcResult::Fail:
      return "fail";
    case DmarcResult::TempError:
      return "temperror";
    case DmarcResult::PermError:
      return "permerror";
  }
  return "none";
}

const char* dmarc_policy_name(DmarcPolicy p) {
  switch (p) {
    case DmarcPolicy::None:
      return "none";
    case DmarcPolicy::Quarantine:
      return "quarantine";
    case DmarcPolicy::Reject:
      return "reject";
  }
  return "none";
}

const char* disposition_name(Disposition d) {
  switch (d) {
    case Disposition::Deliver:
      return "deliver";
    case Disposition::Quarantine:
      return "quarantine";
    case Disposition::Reject:
      return "reject";
  }
  return "deliver";
}

Verdict evaluate(const InboundMessage& message, const Arrival& arrival, const Checks& checks, DnsSource& dns,
                 std::optional<SpfOutcome> spf, std::optional<SpfOutcome> spf_helo) {
  Verdict v;
  if (checks.spf) {
    SpfRequest request{arrival.ip, arrival.mail_from, arrival.helo, arrival.receiver, arrival.now};
    v.spf = spf ? std::move(spf) : check_mail_from(dns, request);
    v.spf_helo = spf_helo ? std::move(spf_helo) : check_helo(dns, request);
  }
  if (checks.dkim) v.dkim = verify_dkim(message, dns, arrival.now);
  if (checks.arc) v.arc = verify_arc(message, dns, arrival.now);
  if (checks.dmarc) {
    AuthorDomain author = author_domain(message.header());
    if (message.header_truncated()) {
      author = {"", "message header too large to verify"};
    }
    if (author.domain.empty()) {
      // CVE-2019-16378: a message whose author cannot be told is refused,
      // or a second From could carry a domain that was never checked.
      v.dmarc.result = DmarcResult::PermError;
      v.dmarc.reason = author.error;
      v.disposition = Disposition::Reject;
      v.reason = "Message must have exactly one From address for DMARC: " + author.error;
    } else {
      v.dmarc = check_dmarc(dns, author.domain, v.spf ? &*v.spf : nullptr, v.dkim, sample_percent());
      if (v.dmarc.result == DmarcResult::Fail) {
        DmarcPolicy applied = effective_policy(v.dmarc);
        if (applied != DmarcPolicy::None && checks.arc && trusted_arc_pass(v.arc, checks)) {
          v.arc_override = true;
        } else if (applied == DmarcPolicy::Reject) {
          v.disposition = Disposition::Reject;
          v.reason = "DMARC policy of " + v.dmarc.policy_domain + " rejects this message: " + v.dmarc.reason;
        } else if (applied == DmarcPolicy::Quarantine) {
          v.disposition = Disposition::Quarantine;
          v.reason =
              "DMARC policy of " + v.dmarc.policy_domain + " quarantines this message: " + v.dmarc.reason;
        }
      }
    }
  }
  v.results = format_results(v, arrival, checks);
  v.header = results_header(checks.authserv_id, v.results);
  return v;
}

}  // namespace mailfort::auth
