// DMARC aggregate report data (RFC 7489 7.2): what the MX saw, counted.
//
// DmarcReportStore: `<data_dir>/dmarc-reports.sqlite` (WAL). One row per
// (UTC day, policy domain, source IP, disposition, aligned DKIM/SPF
// results, override reason, header_from, envelope_from, DKIM results, SPF
// result) with a message count, so a flood of identical mail costs one
// row, not one per message; at most kMaxRowsPerDomainDay distinct rows per
// domain and day (more are dropped and logged: a spammer varying source
// IPs cannot grow the file without bound). Only verdicts whose DMARC
// record asked for reports (rua=) are kept. `dmarc_report_domains` keeps
// what the send step needs beyond the rows (organisational domain, rua);
// `dmarc_report_sent` which (day, domain) reports went out; days older
// than kKeepDays are pruned. Blocking (SQLite): call on the worker pool.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/message_auth.h"
#include "base/result.h"
#include "base/sqlite.h"

namespace mailfort::auth {

// One DKIM signature's result as a report lists it.
struct DkimReportResult {
  std::string domain;
  std::string selector;
  std::string result;  // dkim_status_name()
  bool operator==(const DkimReportResult&) const = default;
};

// One counted row of a day's report for one policy domain (RFC 7489
// Appendix C RecordType).
struct DmarcReportRow {
  std::string source_ip;
  std::string disposition;  // "none", "quarantine", "reject"
  std::string dkim_eval;    // aligned DKIM: "pass" / "fail"
  std::string spf_eval;     // aligned SPF: "pass" / "fail"
  std::string reason;       // PolicyOverrideType ("sampled_out", "trusted_forwarder") or ""
  std::string header_from;
  std::string envelope_from;  // RFC5321.MailFrom domain ("" for the null sender)
  std::vector<DkimReportResult> dkim;
  std::string spf_domain;
  std::string spf_scope;   // "mfrom" or "helo"
  std::string spf_result;  // spf_result_name()
  uint64_t count = 0;
};

// What the send step needs about a reported domain besides its rows.
struct DmarcReportDomain {
  std::string policy_domain;
  std::string org_domain;
  std::string policy;  // dmarc_policy_name() of the policy that applied
  std::vector<std::string> rua;
};

// The row a verdict counts in (without the policy domain and day); nullopt
// when it is not reported (no DMARC record, or no rua=).
std::optional<DmarcReportRow> report_row(const Verdict& verdict, const std::string& ip,
                                         const std::string& envelope_from);

class DmarcReportStore {
 public:
  static constexpr int kKeepDays = 7;
  static constexpr int64_t kMaxRowsPerDomainDay = 10000;

  static Result<std::shared_ptr<DmarcReportStore>> open(const std::string& path);
  ~DmarcReportStore();
  DmarcReportStore(const DmarcReportStore&) = delete;
  DmarcReportStore& operator=(const DmarcReportStore&) = delete;

  // Counts one message on the UTC day of `now` (nothing when report_row()
  // says it is not reported). Blocking.
  Result<void> record(const Verdict& verdict, const std::string& ip, const std::string& envelope_from,
                      int64_t now);
  // Domains with rows on `day` whose report has not been sent.
  Result<std::vector<DmarcReportDomain>> pending_domains(const std::string& day);
  Result<std::vector<DmarcReportRow>> rows(const std::string& day, const std::string& policy_domain);
  Result<void> mark_sent(const std::string& day, const std::string& policy_domain, int64_t now);
  // Forgets rows, domains and sent marks of days before `now` - kKeepDays.
  Result<void> prune(int64_t now);

 private:
  DmarcReportStore() = default;
  std::mutex mu_;
  sqlite::Database db_;
};

}  // namespace mailfort::auth
