// SMTP TLS Reporting (RFC 8460) for outbound delivery: the counters and
// the daily reports.
//
// TlsReportStore: `<data_dir>/tlsrpt.sqlite` (WAL), one row per (UTC day,
// policy domain, policy type, policy strings, mx patterns, receiving MX
// host and IP, result type) with a session count; success is the empty
// result type. The delivery engine adds one row increment per TLS session
// attempt (a few per connection, not per message) on the worker pool.
// `tlsrpt_sent` remembers which (day, domain) reports went out, so each is
// sent once; rows older than kKeepDays are pruned.
//
// send_tls_reports(): for every policy domain with rows on a day and no
// report yet, the `_smtp._tls.<domain>` TXT record through our resolver;
// one report mail (tlsrpt_report.h) per mailto: rua, queued with the null
// sender (RFC 8460 5.3); https: rua are logged and skipped. A domain
// without a record is marked done too; a failed lookup is retried at the
// next run. Blocking: call on the worker pool (or from the CLI).
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/sqlite.h"
#include "outbound/tlsrpt_report.h"

namespace mailfort::dns {
class Resolver;
}
namespace mailfort::queue {
class Queue;
}

namespace mailfort::outbound {

// One TLS session attempt to an MX host of `domain` (the policy domain).
struct TlsSessionRecord {
  std::string domain;
  TlsReportPolicy policy;
  std::string receiving_mx;
  std::string receiving_ip;
  TlsResult result = TlsResult::Success;
};

class TlsReportStore {
 public:
  static constexpr int kKeepDays = 7;

  static Result<std::shared_ptr<TlsReportStore>> open(const std::string& path);
  ~TlsReportStore();
  TlsReportStore(const TlsReportStore&) = delete;
  TlsReportStore& operator=(const TlsReportStore&) = delete;

  // Blocking. Counts each record once on the UTC day of `now`.
  Result<void> add(const std::vector<TlsSessionRecord>& sessions, int64_t now);
  // Domains with rows on `day` whose report has not been sent.
  Result<std::vector<std::string>> pending_domains(const std::string& day);
  Result<std::vector<ReportRow>> rows(const std::string& day, const std::string& domain);
  Result<void> mark_sent(const std::string& day, const std::string& domain, int64_t now);
  // Forgets rows and sent marks of days before `now` - kKeepDays.
  Result<void> prune(int64_t now);

 private:
  TlsReportStore() = default;
  std::mutex mu_;
  sqlite::Database db_;
};

struct TlsReportRun {
  std::size_t domains = 0;   // reports built
  std::size_t messages = 0;  // report mails queued
};

TlsReportRun send_tls_reports(TlsReportStore& store, dns::Resolver& dns, queue::Queue& queue,
                              const std::string& hostname, const std::string& day, int64_t now);

}  // namespace mailfort::outbound
