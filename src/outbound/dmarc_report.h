// DMARC aggregate reports (RFC 7489 7.2 and Appendix C), the pure half:
// the published record's tags as the report repeats them (read by
// proto/dmarc's record parser), rua= mailto: targets, the
// external-destination rule, the XML report, gzip
// and the report mail (7.2.1.1). No I/O; unit-tested. The counted rows
// come from auth::DmarcReportStore; sending: dmarc_reports.h.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc_report_store.h"
#include "base/result.h"
#include "proto/dmarc/dmarc_record.h"

namespace mailfort::outbound {

// The tags of a `_dmarc` record a report's policy_published repeats, with
// the RFC 7489 defaults filled in (sp = p, pct = 100, adkim = aspf = r).
struct DmarcPublished {
  std::string domain;
  std::string adkim = "r";
  std::string aspf = "r";
  std::string p;
  std::string sp;
  uint32_t pct = 100;
  std::string fo = "0";
  std::vector<proto::dmarc::ReportUri> rua;  // with their "!size" limits
};

// The `_dmarc.<domain>` TXT records: exactly one must look like a DMARC
// record and parse (proto::dmarc::parse_record); nullopt otherwise.
std::optional<DmarcPublished> parse_dmarc_published(const std::string& domain,
                                                    const std::vector<std::string>& records);

// True when one of the TXT records starts with "v=DMARC1": the external
// destination's consent record (RFC 7489 7.1).
bool has_dmarc1(const std::vector<std::string>& records);

// Where one rua= URI sends a report: "mailto:a@b.example" with !10m ->
// {a@b.example, 10485760}; nullopt for other schemes and bad addresses.
struct ReportTarget {
  std::string address;
  uint64_t max_size = 0;  // bytes; 0 = no limit
};
std::optional<ReportTarget> report_target(const proto::dmarc::ReportUri& uri);

// RFC 7489 7.1: reports to a domain outside the policy domain's
// organisational domain need that domain's consent record.
bool is_external_destination(const std::string& rua_domain, const std::string& policy_domain,
                             const std::string& org_domain);

struct AggregateMeta {
  std::string org_name;  // our hostname
  std::string email;     // report sender address
  std::string report_id;
  int64_t begin = 0;  // the day's first second (UTC)
  int64_t end = 0;    // its last
};

// The XML report, one <record> per row.
std::string build_aggregate_xml(const AggregateMeta& meta, const DmarcPublished& published,
                                const std::vector<auth::DmarcReportRow>& rows);

// gzip (RFC 1952) of `data`.
Result<std::string> gzip(std::string_view data);

// "submitter!domain!begin!end.xml.gz" (RFC 7489 7.2.1.1).
std::string report_filename(const AggregateMeta& meta, const std::string& domain);

// The report mail: multipart/mixed with a short text part and the gzip
// file as application/gzip (base64), subject "Report Domain: ...
// Submitter: ... Report-ID: <...>". Unsigned: the caller prepends the
// DKIM-Signature.
std::string build_aggregate_message(const AggregateMeta& meta, const std::string& domain,
                                    const std::string& from, const std::string& to, const std::string& gz,
                                    int64_t now);

}  // namespace mailfort::outbound
