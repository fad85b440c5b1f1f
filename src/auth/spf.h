// SPF (RFC 7208) evaluation: check_host() for the MAIL FROM and the HELO
// identity over a DnsSource. Record parsing and macro expansion are pure
// (proto/spf); this file adds the DNS walk with its limits (10 DNS
// mechanisms, 2 void lookups, 10 MX / PTR names).
#pragma once
#include <cstdint>
#include <string>

#include "auth/dns_source.h"

namespace mailfort::auth {

enum class SpfResult { None, Neutral, Pass, Fail, SoftFail, TempError, PermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"
const char* spf_result_name(SpfResult r);

struct SpfRequest {
  std::string ip;         // client address, IPv4 or IPv6 text form
  std::string sender;     // MAIL FROM address; "" = null sender (then postmaster@helo)
  std::string helo;       // EHLO/HELO argument
  std::string receiver;   // our host name, for %{r}
  int64_t now = 0;        // unix time, for %{t}
};

struct SpfOutcome {
  SpfResult result = SpfResult::None;
  std::string domain;       // the domain checked (MAIL FROM domain or HELO name)
  std::string identity;     // "mailfrom" or "helo"
  std::string explanation;  // exp= text on fail (already expanded), else ""
  std::string problem;      // why temperror/permerror, or the matched mechanism, for logs and AR comments
};

// The MAIL FROM identity (RFC 7208 2.4): the sender's domain, or
// postmaster@<helo> for the null sender.
SpfOutcome check_mail_from(DnsSource& dns, const SpfRequest& request);
// The HELO identity (RFC 7208 2.3); None when the HELO is an address literal
// or not a domain name.
SpfOutcome check_helo(DnsSource& dns, const SpfRequest& request);

}  // namespace mailfort::auth
