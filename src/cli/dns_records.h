// `mailfort dns DOMAIN`: the DNS records a local domain should publish,
// as a zone-file block with a `;` comment before each record: MX, SPF,
// DKIM (every active key, the same records as `mailfort dkim dns`), DMARC,
// MTA-STS (TXT record and the policy file to serve over HTTPS), TLSRPT,
// TLSA (DANE-EE SPKI SHA-256 of [tls] cert) and SRV records for client
// autoconfiguration (RFC 6186, RFC 8314) from the configured listeners.
#pragma once
#include <string>

#include "base/config.h"
#include "base/result.h"

namespace mailfort::cli {

Result<std::string> dns_records(const config::Config& cfg, const std::string& domain);

// The MTA-STS policy file a local domain should serve (enforce, our host
// name as the one mx); its policy_id() goes in the `_mta-sts` TXT record.
std::string mta_sts_policy_text(const config::Config& cfg);

}  // namespace mailfort::cli
