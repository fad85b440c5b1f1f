// ARC (RFC 8617): chain validation of an InboundMessage and sealing of
// mail we forward. The ARC header fields are parsed in proto/arc; the
// ARC-Message-Signature body hashes come from InboundMessage.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dns_source.h"
#include "auth/inbound_message.h"
#include "base/result.h"
#include "dkim/dkim.h"

namespace mailfort::auth {

enum class ArcChain { None, Pass, Fail };
const char* arc_chain_name(ArcChain c);  // "none", "pass", "fail"

struct ArcOutcome {
  ArcChain chain = ArcChain::None;  // cv of the chain as it arrived
  int instances = 0;                // highest i= seen (0 = no ARC set)
  std::string reason;               // why fail
  std::string newest_domain;        // d= of the newest ARC-Seal (the last forwarder)
  std::string oldest_results;       // value of the i=1 ARC-Authentication-Results (after "i=1;")
};

ArcOutcome verify_arc(const InboundMessage& message, DnsSource& dns, int64_t now);

// The three header fields (ARC-Seal, ARC-Message-Signature,
// ARC-Authentication-Results, each folded and ending in CRLF) to prepend to
// `message` (wire form) as instance `previous.instances + 1`, with cv= from
// `previous`. `results` is our RFC 8601 resinfo text after the authserv-id
// (e.g. "spf=pass smtp.mailfrom=...; dkim=pass ..."). A failed chain is
// sealed with cv=fail as RFC 8617 5.1 says; Invalid past 50 instances.
// Empty (no set) when the newest ARC-Seal already says cv=fail: the chain
// has ended and nobody adds to it (RFC 8617 5.1.2).
Result<std::string> arc_seal(std::string_view message, const ArcOutcome& previous,
                             const std::string& authserv_id, const std::string& results, const dkim::Key& key,
                             int64_t now);

struct ArcSealOptions {
  // h= of the ARC-Message-Signature, lower case; empty = the DKIM signer's
  // list (dkim::signed_header_names(), those present, From over-signed).
  std::vector<std::string> signed_headers;
};
Result<std::string> arc_seal(std::string_view message, const ArcOutcome& previous,
                             const std::string& authserv_id, const std::string& results, const dkim::Key& key,
                             int64_t now, const ArcSealOptions& options);

}  // namespace mailfort::auth
