// The verdict on one message received on an MX listener: SPF, DKIM, ARC
// and DMARC together, the Authentication-Results header we add, and what
// to do with the message. Used by the SMTP MX policy (SPF at MAIL FROM,
// the rest at end of data) and by `mailfort auth check`; DMARC reports
// record the verdicts.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/arc.h"
#include "auth/dkim_verify.h"
#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "auth/spf.h"

namespace mailfort::auth {

enum class DmarcResult { None, Pass, Fail, TempError, PermError };
const char* dmarc_result_name(DmarcResult r);  // "none", "pass", "fail", "temperror", "permerror"

enum class DmarcPolicy { None, Quarantine, Reject };
const char* dmarc_policy_name(DmarcPolicy p);  // "none", "quarantine", "reject"

struct DmarcOutcome {
  DmarcResult result = DmarcResult::None;
  std::string from_domain;    // RFC5322.From domain (lower case)
  std::string policy_domain;  // where the record was found (From or organisational domain)
  std::string org_domain;     // organisational domain (Public Suffix List)
  DmarcPolicy policy = DmarcPolicy::None;  // p=, sp= or np= as it applies
  bool spf_aligned = false;
  bool dkim_aligned = false;
  bool sampled_out = false;  // pct= excluded this message: policy lowered one step
  std::vector<std::string> rua;  // mailto: report URIs of the record
  std::string reason;
};

enum class Disposition { Deliver, Quarantine, Reject };
const char* disposition_name(Disposition d);  // "deliver", "quarantine", "reject"

// How a message arrived.
struct Arrival {
  std::string ip;
  std::string helo;
  std::string mail_from;  // "" = null sender
  std::string receiver;   // our hostname (SPF %{r})
  int64_t now = 0;
};

struct Verdict {
  std::optional<SpfOutcome> spf_helo;
  std::optional<SpfOutcome> spf;       // MAIL FROM identity (the one DMARC aligns)
  std::vector<DkimResult> dkim;
  ArcOutcome arc;
  DmarcOutcome dmarc;
  bool arc_override = false;           // a trusted forwarder's ARC chain overrode a DMARC failure
  Disposition disposition = Disposition::Deliver;
  std::string reason;                  // for Reject: the 550 5.7.1 text; for Quarantine: the log reason
  std::string results;                 // resinfo after the authserv-id: "spf=pass ...; dkim=...; dmarc=...; arc=..."
  std::string header;                  // "Authentication-Results: <authserv-id>; <results>\r\n" (folded)
};

// What [inbound] turns on.
struct Checks {
  std::string authserv_id;
  bool spf = true;
  bool dkim = true;
  bool dmarc = true;
  bool arc = true;
  std::vector<std::string> arc_trusted_forwarders;
};

// Everything after the last byte of the message: DKIM, ARC, DMARC (the
// Public Suffix List for the organisational domain), the disposition and
// the Authentication-Results header. `spf` is what MAIL FROM already found
// (the SMTP session checks SPF there); when absent it is checked here.
Verdict evaluate(const InboundMessage& message, const Arrival& arrival, const Checks& checks, DnsSource& dns,
                 std::optional<SpfOutcome> spf = std::nullopt, std::optional<SpfOutcome> spf_helo = std::nullopt);

}  // namespace mailfort::auth
