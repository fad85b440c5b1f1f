// `mailfort dns check DOMAIN`: resolves what a local domain publishes
// through the configured resolvers and compares it, record by record, with
// what `mailfort dns DOMAIN` says should be there (MX, SPF, DKIM per active
// selector, DMARC, MTA-STS, TLSRPT, TLSA of the MX host, PTR of its
// addresses), the way mox and Mail-in-a-Box check a domain. Records are
// judged by meaning, not text: an SPF record that names the MX another way
// or a DMARC record with another policy is fine; a key that differs from
// ours, an SPF record that lets anyone send, or two DMARC records are not.
// Blocking (DNS).
#pragma once
#include <string>
#include <vector>

#include "base/config.h"
#include "base/result.h"

namespace mailfort::dns {
class Resolver;
}

namespace mailfort::cli {

enum class CheckStatus { Ok, Missing, Wrong };

struct RecordCheck {
  CheckStatus status = CheckStatus::Ok;
  std::string name;  // owner name (or, for PTR, the address)
  std::string type;  // "MX", "TXT", "TLSA", "PTR", ...
  std::string what;  // "SPF", "DKIM s1", "DMARC", ...; also in the detail
  std::string detail;
};

Result<std::vector<RecordCheck>> check_dns(const config::Config& cfg, const std::string& domain,
                                           dns::Resolver& dns);

// "OK example.test MX: 10 mail.example.test" / "MISSING ..." / "WRONG ...".
std::string format_check(const RecordCheck& c);

}  // namespace mailfort::cli
