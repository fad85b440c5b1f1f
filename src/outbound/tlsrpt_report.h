// SMTP TLS Reporting (RFC 8460), the pure half: result types and how a
// TLS session attempt is classified, the `_smtp._tls` TXT record, the
// aggregate JSON report (section 4) and the report mail (section 5.3).
// No I/O; unit-tested. Storage and sending: tlsrpt.h.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tls/client.h"

namespace mailfort::outbound {

// RFC 8460 4.3 result types; Success is not one (it is counted apart).
enum class TlsResult {
  Success,
  StarttlsNotSupported,
  CertificateHostMismatch,
  CertificateExpired,
  CertificateNotTrusted,
  ValidationFailure,
  TlsaInvalid,
  DnssecInvalid,
  DaneRequired,
  StsPolicyFetchError,
  StsPolicyInvalid,
  StsWebpkiInvalid,
};

// "certificate-host-mismatch", ...; "" for Success.
const char* tls_result_name(TlsResult r);

// A failed verification under `mode` (Verify::None means MTA-STS testing:
// classified as a CA check).
TlsResult classify_verify(tls::ClientParams::Verify mode, tls::VerifyError error);

// What a TLS report says about one session attempt: the policy that
// applied and the result.
struct TlsReportPolicy {
  std::string type;                  // "sts", "tlsa", "no-policy-found"
  std::vector<std::string> strings;  // policy-string: policy file lines, TLSA records
  std::vector<std::string> mx;       // mx-host: the MTA-STS policy's mx patterns
};

// The `_smtp._tls.<domain>` TXT records: of those starting with
// "v=TLSRPTv1", exactly one must remain (RFC 8460 3). Returns its rua
// URIs (may be empty), nullopt when there is no (single, valid) record.
std::optional<std::vector<std::string>> parse_tlsrpt_txt(const std::vector<std::string>& records);

// "mailto:a@b?subject=x" -> "a@b" (percent-decoded); "" for other schemes
// or an address that is not local@domain.
std::string mailto_address(const std::string& uri);

// One counted row of a day's report for one policy domain.
struct ReportRow {
  TlsReportPolicy policy;
  std::string receiving_mx;  // MX host name the session went to
  std::string receiving_ip;
  std::string result;  // result type; "" = success
  uint64_t count = 0;
};

struct ReportMeta {
  std::string organization;  // our hostname
  std::string contact;       // postmaster@hostname
  std::string report_id;
  std::string day;  // YYYY-MM-DD (UTC)
  std::string domain;
};

// The JSON report (RFC 8460 4.4), one policies[] entry per distinct
// policy (type, strings, mx), compact.
std::string build_report_json(const ReportMeta& meta, const std::vector<ReportRow>& rows);

// The report mail (RFC 8460 5.3): multipart/report; report-type="tlsrpt"
// with a text part and the JSON as application/tlsrpt+json (base64).
std::string build_report_message(const ReportMeta& meta, const std::string& from, const std::string& to,
                                 const std::string& json, int64_t now);

// UTC day of a time ("2026-11-25"); the day's first second; parse check.
std::string utc_day(int64_t t);
std::optional<int64_t> day_start(const std::string& day);

}  // namespace mailfort::outbound
