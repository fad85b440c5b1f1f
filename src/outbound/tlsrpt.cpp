#include "outbound/tlsrpt.h"

#include <spdlog/spdlog.h>

#include "base/log.h"
#include "base/sqlite.h"
#include "base/text.h"
#include "dns/resolver.h"
#include "queue/queue.h"

namespace mailfort::outbound {
namespace {

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "\n" : "") + v[i];
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  while (true) {
    auto nl = s.find('\n', start);
    out.push_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace

Result<std::shared_ptr<TlsReportStore>> TlsReportStore::open(const std::string& path) {
  std::shared_ptr<TlsReportStore> st(new TlsReportStore());
  auto db = sqlite::Database::open(path, {.serialized = true, .wal = true, .synchronous_normal = true});
  if (!db) return make_error(db.error().code, "cannot open " + path + ": " + db.error().message);
  st->db_ = std::move(db).value();
  const char* schema =
      "CREATE TABLE IF NOT EXISTS tlsrpt_sessions (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " policy_type TEXT NOT NULL, policy_string TEXT NOT NULL, mx_host TEXT NOT NULL,"
      " receiving_mx TEXT NOT NULL, receiving_ip TEXT NOT NULL, result TEXT NOT NULL,"
      " count INTEGER NOT NULL, PRIMARY KEY (day, domain, policy_type, policy_string, mx_host,"
      " receiving_mx, receiving_ip, result)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS tlsrpt_sent (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " sent_at INTEGER NOT NULL, PRIMARY KEY (day, domain)) WITHOUT ROWID;";
  if (auto r = st->db_.exec(schema); !r)
    return make_error(r.error().code,
                      "cannot create TLS report tables in " + path + ": " + r.error().message);
  return st;
}

TlsReportStore::~TlsReportStore() = default;

Result<void> TlsReportStore::add(const std::vector<TlsSessionRecord>& sessions, int64_t now) {
  if (sessions.empty()) return {};
  std::lock_guard lock(mu_);
  std::string day = utc_day(now);
  sqlite::Transaction tx(db_);
  if (!tx.ok()) return db_.error("tlsrpt begin");
  {
    auto ins = db_.prepare(
        "INSERT INTO tlsrpt_sessions VALUES (?,?,?,?,?,?,?,?,1) ON CONFLICT (day, domain, policy_type,"
        " policy_string, mx_host, receiving_mx, receiving_ip, result) DO UPDATE SET count = count + 1");
    if (!ins.ok()) return ins.error("tlsrpt insert");
    for (auto& s : sessions) {
      ins.reset();
      ins.bind(1, day)
          .bind(2, s.domain)
          .bind(3, s.policy.type)
          .bind(4, join_lines(s.policy.strings))
          .bind(5, join_lines(s.policy.mx))
          .bind(6, s.receiving_mx)
          .bind(7, s.receiving_ip)
          .bind(8, tls_result_name(s.result));
      if (!ins.run()) return ins.error("tlsrpt insert");
    }
  }
  if (!tx.commit()) return db_.error("tlsrpt commit");
  return {};
}

Result<std::vector<std::string>> TlsReportStore::pending_domains(const std::string& day) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare(
      "SELECT DISTINCT domain FROM tlsrpt_sessions s WHERE day = ?1 AND NOT EXISTS"
      " (SELECT 1 FROM tlsrpt_sent t WHERE t.day = ?1 AND t.domain = s.domain) ORDER BY domain");
  q.bind(1, day);
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.text(0));
  if (!q.done()) return q.error("tlsrpt select");
  return out;
}

Result<std::vector<ReportRow>> TlsReportStore::rows(const std::string& day, const std::string& domain) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare(
      "SELECT policy_type, policy_string, mx_host, receiving_mx, receiving_ip, result, count"
      " FROM tlsrpt_sessions WHERE day = ? AND domain = ?");
  q.bind(1, day).bind(2, domain);
  std::vector<ReportRow> out;
  while (q.step()) {
    ReportRow r;
    r.policy.type = q.text(0);
    r.policy.strings = split_lines(q.text(1));
    r.policy.mx = split_lines(q.text(2));
    r.receiving_mx = q.text(3);
    r.receiving_ip = q.text(4);
    r.result = q.text(5);
    r.count = static_cast<uint64_t>(q.i64(6));
    out.push_back(std::move(r));
  }
  if (!q.done()) return q.error("tlsrpt select");
  return out;
}

Result<void> TlsReportStore::mark_sent(const std::string& day, const std::string& domain, int64_t now) {
  std::lock_guard lock(mu_);
  auto q = db_.prepare("INSERT OR REPLACE INTO tlsrpt_sent VALUES (?, ?, ?)");
  if (!q.bind(1, day).bind(2, domain).bind(3, now).run()) return q.error("tlsrpt mark");
  return {};
}

Result<void> TlsReportStore::prune(int64_t now) {
  std::lock_guard lock(mu_);
  std::string oldest = utc_day(now - int64_t{kKeepDays} * 86400);
  for (const char* sql :
       {"DELETE FROM tlsrpt_sessions WHERE day < ?", "DELETE FROM tlsrpt_sent WHERE day < ?"}) {
    auto q = db_.prepare(sql);
    if (!q.bind(1, oldest).run()) return q.error("tlsrpt prune");
  }
  return {};
}

TlsReportRun send_tls_reports(TlsReportStore& store, dns::Resolver& dns, queue::Queue& queue,
                              const std::string& hostname, const std::string& day, int64_t now) {
  TlsReportRun run;
  auto domains = store.pending_domains(day);
  if (!domains) {
    spdlog::error("tlsrpt error={}", log::quote(domains.error().message));
    return run;
  }
  for (auto& domain : *domains) {
    auto txt = dns.query("_smtp._tls." + domain, dns::Type::TXT);
    if (txt.status != dns::Answer::Status::Ok && txt.status != dns::Answer::Status::NoData &&
        txt.status != dns::Answer::Status::NxDomain) {
      spdlog::info("tlsrpt lookup-failed domain={} status={}", domain, dns::status_name(txt.status));
      continue;  // tried again at the next run
    }
    std::optional<std::vector<std::string>> rua;
    if (txt.status == dns::Answer::Status::Ok) rua = parse_tlsrpt_txt(txt.txt);
    std::vector<std::string> to;
    for (auto& uri : rua.value_or(std::vector<std::string>{})) {
      std::string addr = mailto_address(uri);
      if (addr.empty())
        spdlog::info("tlsrpt rua-skipped domain={} rua={} reason=only-mailto-supported", domain,
                     log::quote(uri));
      else
        to.push_back(addr);
    }
    if (to.empty()) {
      spdlog::debug("tlsrpt no-recipient domain={} day={}", domain, day);
      (void)store.mark_sent(day, domain, now);
      continue;
    }
    auto rows = store.rows(day, domain);
    if (!rows) {
      spdlog::error("tlsrpt error={}", log::quote(rows.error().message));
      continue;
    }
    ReportMeta meta;
    meta.organization = hostname;
    meta.contact = "postmaster@" + hostname;
    meta.day = day;
    meta.domain = domain;
    meta.report_id = day + "T00:00:00Z_" + domain + "@" + hostname;
    std::string json = build_report_json(meta, *rows);
    std::size_t queued = 0;
    for (auto& addr : to) {
      queue::Envelope env;  // null sender (RFC 8460 5.3): no bounce loops
      queue::Recipient r;
      r.address = addr;
      env.recipients.push_back(r);
      auto msg = build_report_message(meta, "noreply-tlsrpt@" + hostname, addr, json, now);
      auto id = queue.enqueue(env, msg);
      if (!id) {
        spdlog::error("tlsrpt enqueue-failed domain={} to={} error={}", domain, addr,
                      log::quote(id.error().message));
        continue;
      }
      ++queued;
      spdlog::info("tlsrpt report domain={} day={} to={} id={}", domain, day, addr, *id);
    }
    if (queued == 0) continue;
    if (auto m = store.mark_sent(day, domain, now); !m)
      spdlog::error("tlsrpt error={}", log::quote(m.error().message));
    ++run.domains;
    run.messages += queued;
  }
  return run;
}

}  // namespace mailfort::outbound
