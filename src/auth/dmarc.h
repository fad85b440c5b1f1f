// DMARC evaluation (RFC 7489 6.6, with DMARCbis np=) of one message: the
// single RFC5322.From domain, policy discovery at that domain and then at
// its organisational domain (the Public Suffix List through libpsl, read
// from Debian's publicsuffix package), SPF and DKIM identifier alignment,
// and the policy that applies (p, sp, np, pct). Blocking (DNS): run on the
// worker pool.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim_verify.h"
#include "auth/dns_source.h"
#include "auth/message_auth.h"
#include "auth/spf.h"

namespace mailfort::auth {

// The organisational domain of `domain` (lower case, no trailing dot): its
// registrable domain by the Public Suffix List (mail.shop.example.co.uk ->
// example.co.uk); the name itself when it is a public suffix. Names under
// a TLD the list does not know use its default rule (x.y.test -> y.test).
std::string organizational_domain(std::string_view domain);

// Identifier alignment (RFC 7489 3.1): strict = the same name, relaxed =
// the same organisational domain. Case-insensitive.
bool aligned(std::string_view a, std::string_view b, bool strict);

// The author domain of a header block: exactly one From field naming
// exactly one address (RFC 7489 6.6.1; zero or several From fields, or a
// list, is the CVE-2019-16378 class of bypass). `error` says what is wrong
// when `domain` is empty.
struct AuthorDomain {
  std::string domain;  // lower case
  std::string error;
};
AuthorDomain author_domain(std::string_view header);

// Policy discovery and alignment. `spf` is the MAIL FROM identity's outcome
// (never HELO's, the CVE-2019-20790 class), null when SPF was not checked;
// `sample` in 0..99 decides pct= (a failing message with sample >= pct is
// sampled out and its policy lowered one step by effective_policy()).
DmarcOutcome check_dmarc(DnsSource& dns, const std::string& from_domain, const SpfOutcome* spf,
                         const std::vector<DkimResult>& dkim, int sample);

// The policy to apply to a failing message: `outcome.policy`, one step
// lower when it was sampled out (reject -> quarantine -> none).
DmarcPolicy effective_policy(const DmarcOutcome& outcome);

}  // namespace mailfort::auth
