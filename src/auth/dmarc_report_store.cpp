#include "auth/dmarc_report_store.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "base/log.h"
#include "base/text.h"

namespace mailfort::auth {
namespace {

constexpr std::size_t kMaxDkimResults = 10;  // as many as verify_dkim reports by default

std::string day_of(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// DKIM results as one column: "domain selector result" lines (none of the
// three can hold a space or a newline: domains and selectors are checked
// by the verifier, results are our own words).
std::string join_dkim(const std::vector<DkimReportResult>& v) {
  std::string out;
  for (auto& d : v) out += (out.empty() ? "" : "\n") + d.domain + " " + d.selector + " " + d.result;
  return out;
}

std::vector<DkimReportResult> split_dkim(const std::string& s) {
  std::vector<DkimReportResult> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    auto a = line.find(' '), b = line.rfind(' ');
    if (a != std::string::npos && b > a)
      out.push_back({line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)});
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

// Safe in the one-column encodings above.
bool is_token(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

}  // namespace

std::optional<DmarcReportRow> report_row(const Verdict& verdict, const std::string& ip,
                                         const std::string& envelope_from) {
  const DmarcOutcome& d = verdict.dmarc;
  if (d.rua.empty() || d.policy_domain.empty() || d.result == DmarcResult::None) return std::nullopt;
  DmarcReportRow row;
  row.source_ip = ip;
  switch (verdict.disposition) {
    case Disposition::Deliver:
      row.disposition = "none";
      break;
    case Disposition::Quarantine:
      row.disposition = "quarantine";
      break;
    case Disposition::Reject:
      row.disposition = "reject";
      break;
  }
  row.dkim_eval = d.dkim_aligned ? "pass" : "fail";
  row.spf_eval = d.spf_aligned ? "pass" : "fail";
  if (verdict.arc_override)
    row.reason = "trusted_forwarder";
  else if (d.sampled_out)
    row.reason = "sampled_out";
  row.header_from = to_lower(d.from_domain);
  auto at = envelope_from.rfind('@');
  row.envelope_from = at == std::string::npos ? std::string() : to_lower(envelope_from.substr(at + 1));
  for (auto& r : verdict.dkim) {
    if (row.dkim.size() == kMaxDkimResults) break;
    if (r.domain.empty() || !is_token(r.domain) || !is_token(r.selector)) continue;  // unparseable
    row.dkim.push_back({to_lower(r.domain), r.selector, dkim_status_name(r.status)});
  }
  if (verdict.spf) {
    row.spf_domain = to_lower(verdict.spf->domain);
    row.spf_scope = verdict.spf->identity == "helo" ? "helo" : "mfrom";
    row.spf_result = spf_result_name(verdict.spf->result);
  } else {
    row.spf_domain = row.envelope_from;
    row.spf_scope = "mfrom";
    row.spf_result = "none";
  }
  if (!is_token(row.header_from) || !is_token(row.envelope_from) || !is_token(row.spf_domain))
    return std::nullopt;
  return row;
}

Result<std::shared_ptr<DmarcReportStore>> DmarcReportStore::open(const std::string& path) {
  std::shared_ptr<DmarcReportStore> st(new DmarcReportStore());
  auto db = sqlite::Database::open(path, {.serialized = true, .wal = true, .synchronous_normal = true});
  if (!db) return make_error(db.error().code, "cannot open " + path + ": " + db.error().message);
  st->db_ = std::move(db).value();
  const char* schema =
      "CREATE TABLE IF NOT EXISTS dmarc_report_rows (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " source_ip TEXT NOT NULL, disposition TEXT NOT NULL, dkim_eval TEXT NOT NULL,"
      " spf_eval TEXT NOT NULL, reason TEXT NOT NULL, header_from TEXT NOT NULL,"
      " envelope_from TEXT NOT NULL, dkim TEXT NOT NULL, spf_domain TEXT NOT NULL,"
      " spf_scope TEXT NOT NULL, spf_result TEXT NOT NULL, count INTEGER NOT NULL,"
      " PRIMARY KEY (day, domain, source_ip, disposition, dkim_eval, spf_eval, reason, header_from,"
      " envelope_from, dkim, spf_domain, spf_scope, spf_result)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS dmarc_report_domains (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " org_domain TEXT NOT NULL, policy TEXT NOT NULL, rua TEXT NOT NULL, rows INTEGER NOT NULL,"
      " PRIMARY KEY (day, domain)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS dmarc_report_sent (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " sent_at INTEGER NOT NULL, PRIMARY KEY (day, domain)) WITHOUT ROWID;";
  if (auto r = st->db_.exec(schema); !r)
    return make_error(r.error().code,
                      "cannot create DMARC report tables in " + path + ": " + r.error().message);
  return st;
}

DmarcReportStore::~DmarcReportStore() = default;

Result<void> DmarcReportStore::record(const Verdict& verdict, const std::string& ip,
                                      const std::string& envelope_from, int64_t now) {
  auto row = report_row(verdict, ip, envelope_from);
  if (!row) return {};
  const DmarcOutcome& d = verdict.dmarc;
  std::string day = day_of(now);
  std::string domain = to_lower(d.policy_domain);
  std::string dkim = join_dkim(row->dkim);
  std::lock_guard lock(mu_);
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return db_.error("dmarc report begin");
  auto meta = db_.cached(
      "INSERT INTO dmarc_report_domains VALUES (?1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (day, domain) DO UPDATE"
      " SET org_domain = ?3, policy = ?4, rua = ?5");
  meta.bind(1, day).bind(2, domain).bind(3, to_lower(d.org_domain)).bind(4, dmarc_policy_name(d.policy));
  meta.bind(5, join_lines(d.rua));
  if (!meta.run()) return meta.error("dmarc report domain");
  auto bind_key = [&](sqlite::Statement& q) {
    q.bind(1, day).bind(2, domain).bind(3, row->source_ip).bind(4, row->disposition).bind(5, row->dkim_eval);
    q.bind(6, row->spf_eval).bind(7, row->reason).bind(8, row->header_from).bind(9, row->envelope_from);
    q.bind(10, dkim).bind(11, row->spf_domain).bind(12, row->spf_scope).bind(13, row->spf_result);
  };
  auto bump = db_.cached(
      "UPDATE dmarc_report_rows SET count = count + 1 WHERE day = ?1 AND domain = ?2 AND source_ip = ?3"
      " AND disposition = ?4 AND dkim_eval = ?5 AND spf_eval = ?6 AND reason = ?7 AND header_from = ?8"
      " AND envelope_from = ?9 AND dkim = ?10 AND spf_domain = ?11 AND spf_scope = ?12 AND spf_result = ?13");
  bind_key(bump);
  if (!bump.run()) return bump.error("dmarc report count");
  if (db_.changes() == 0) {
    // A new distinct row: only while the domain's day is under its cap.
    auto grow = db_.cached(
        "UPDATE dmarc_report_domains SET rows = rows + 1 WHERE day = ? AND domain = ? AND rows < ?");
    grow.bind(1, day).bind(2, domain).bind(3, kMaxRowsPerDomainDay);
    if (!grow.run()) return grow.error("dmarc report domain");
    if (db_.changes() == 0) {
      spdlog::debug("dmarc-report row-cap domain={} ip={}", domain, row->source_ip);
      if (!tx.commit()) return db_.error("dmarc report commit");
      return {};
    }
    auto ins =
        db_.cached("INSERT INTO dmarc_report_rows VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1)");
    bind_key(ins);
    if (!ins.run()) return ins.error("dmarc report insert");
  }
  if (!tx.commit()) return db_.error("dmarc report commit");
  return {};
}

Result<std::vector<DmarcReportDomain>> DmarcReportStore::pending_domains(const std::string& day) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare(
      "SELECT domain, org_domain, policy, rua FROM dmarc_report_domains d WHERE day = ?1 AND rows > 0 AND"
      " NOT EXISTS (SELECT 1 FROM dmarc_report_sent s WHERE s.day = ?1 AND s.domain = d.domain)"
      " ORDER BY domain");
  q.bind(1, day);
  std::vector<DmarcReportDomain> out;
  while (q.step()) out.push_back({q.text(0), q.text(1), q.text(2), split_lines(q.text(3))});
  if (!q.done()) return q.error("dmarc report select");
  return out;
}

Result<std::vector<DmarcReportRow>> DmarcReportStore::rows(const std::string& day,
                                                           const std::string& domain) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare(
      "SELECT source_ip, disposition, dkim_eval, spf_eval, reason, header_from, envelope_from, dkim,"
      " spf_domain, spf_scope, spf_result, count FROM dmarc_report_rows WHERE day = ? AND domain = ?"
      " ORDER BY source_ip, header_from, count DESC");
  q.bind(1, day).bind(2, domain);
  std::vector<DmarcReportRow> out;
  while (q.step()) {
    DmarcReportRow r;
    r.source_ip = q.text(0);
    r.disposition = q.text(1);
    r.dkim_eval = q.text(2);
    r.spf_eval = q.text(3);
    r.reason = q.text(4);
    r.header_from = q.text(5);
    r.envelope_from = q.text(6);
    r.dkim = split_dkim(q.text(7));
    r.spf_domain = q.text(8);
    r.spf_scope = q.text(9);
    r.spf_result = q.text(10);
    r.count = static_cast<uint64_t>(q.i64(11));
    out.push_back(std::move(r));
  }
  if (!q.done()) return q.error("dmarc report select");
  return out;
}

Result<void> DmarcReportStore::mark_sent(const std::string& day, const std::string& domain, int64_t now) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare("INSERT OR REPLACE INTO dmarc_report_sent VALUES (?, ?, ?)");
  if (!q.bind(1, day).bind(2, domain).bind(3, now).run()) return q.error("dmarc report mark");
  return {};
}

Result<void> DmarcReportStore::prune(int64_t now) {
  std::lock_guard lock(mu_);
  std::string oldest = day_of(now - int64_t{kKeepDays} * 86400);
  for (const char* sql :
       {"DELETE FROM dmarc_report_rows WHERE day < ?", "DELETE FROM dmarc_report_domains WHERE day < ?",
        "DELETE FROM dmarc_report_sent WHERE day < ?"}) {
    auto q = db_.prepare(sql);
    if (!q.bind(1, oldest).run()) return q.error("dmarc report prune");
  }
  return {};
}

}  // namespace mailfort::auth
