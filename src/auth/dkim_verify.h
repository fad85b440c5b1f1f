// DKIM verification (RFC 6376, RFC 8463, RFC 8301) of an InboundMessage:
// every DKIM-Signature is checked and reported (up to a limit), each with
// its own result. rsa-sha1 and RSA keys under 1024 bits fail (RFC 8301);
// l= verifies only the signed length and is noted; x= expiry; t=y testing
// keys; h= of the key record; DNS temperror and permerror kept apart.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "auth/dns_source.h"
#include "auth/inbound_message.h"

namespace mailfort::auth {

// The dkim= result words of RFC 8601 2.7.1 (none = no signature at all,
// which is an empty result list).
enum class DkimStatus { Pass, Fail, Neutral, Policy, TempError, PermError };
const char* dkim_status_name(DkimStatus s);  // "pass", "fail", "neutral", "policy", "temperror", "permerror"

struct DkimResult {
  DkimStatus status = DkimStatus::PermError;
  std::string domain;     // d= (lower case); "" when the signature was unparseable
  std::string selector;   // s=
  std::string algorithm;  // a= as written, e.g. "rsa-sha256"
  std::string identity;   // i= (default "@" + d=)
  std::string b;          // the first 8 characters of b= (RFC 6008 header.b)
  std::string reason;     // why not pass, for the AR comment and logs ("body hash mismatch", ...)
  bool length_limited = false;  // l= was used
  bool testing = false;         // key record t=y
};

struct DkimLimits {
  std::size_t max_signatures = 10;  // more are reported permerror without DNS lookups
};

std::vector<DkimResult> verify_dkim(const InboundMessage& message, DnsSource& dns, int64_t now,
                                    const DkimLimits& limits = {});

}  // namespace mailfort::auth
