#include "outbound/tlsrpt.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "base/log.h"
#include "base/text.h"
#include "dns/resolver.h"
#include "queue/queue.h"

namespace mailfort::outbound {
namespace {

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &s, nullptr); }
  ~Stmt() { sqlite3_finalize(s); }
  explicit operator bool() const { return s != nullptr; }
  void text(int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  std::string col(int i) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
};

Error db_error(sqlite3* db, const std::string& what) {
  int rc = sqlite3_errcode(db);
  Errc code = (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? Errc::Temp : Errc::Perm;
  return make_error(code, what + ": " + sqlite3_errmsg(db));
}

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
  if (sqlite3_open_v2(path.c_str(), &st->db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = st->db_ ? sqlite3_errmsg(st->db_) : "out of memory";
    return make_error(Errc::Perm, "cannot open " + path + ": " + msg);
  }
  sqlite3_busy_timeout(st->db_, 5000);
  char* err = nullptr;
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS tlsrpt_sessions (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " policy_type TEXT NOT NULL, policy_string TEXT NOT NULL, mx_host TEXT NOT NULL,"
      " receiving_mx TEXT NOT NULL, receiving_ip TEXT NOT NULL, result TEXT NOT NULL,"
      " count INTEGER NOT NULL, PRIMARY KEY (day, domain, policy_type, policy_string, mx_host,"
      " receiving_mx, receiving_ip, result)) WITHOUT ROWID;"
      "CREATE TABLE IF NOT EXISTS tlsrpt_sent (day TEXT NOT NULL, domain TEXT NOT NULL,"
      " sent_at INTEGER NOT NULL, PRIMARY KEY (day, domain)) WITHOUT ROWID;";
  if (sqlite3_exec(st->db_, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(Errc::Perm, "cannot create TLS report tables in " + path + ": " + msg);
  }
  return st;
}

TlsReportStore::~TlsReportStore() {
  if (db_) sqlite3_close(db_);
}

Result<void> TlsReportStore::add(const std::vector<TlsSessionRecord>& sessions, int64_t now) {
  if (sessions.empty()) return {};
  std::lock_guard lock(mu_);
  std::string day = utc_day(now);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(db_, "tlsrpt begin");
  {
    Stmt ins(db_,
             "INSERT INTO tlsrpt_sessions VALUES (?,?,?,?,?,?,?,?,1) ON CONFLICT (day, domain, policy_type,"
             " policy_string, mx_host, receiving_mx, receiving_ip, result) DO UPDATE SET count = count + 1");
    if (!ins) {
      auto e = db_error(db_, "tlsrpt insert");
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return e;
    }
    for (auto& s : sessions) {
      sqlite3_reset(ins.s);
      ins.text(1, day);
      ins.text(2, s.domain);
      ins.text(3, s.policy.type);
      ins.text(4, join_lines(s.policy.strings));
      ins.text(5, join_lines(s.policy.mx));
      ins.text(6, s.receiving_mx);
      ins.text(7, s.receiving_ip);
      ins.text(8, tls_result_name(s.result));
      if (sqlite3_step(ins.s) != SQLITE_DONE) {
        auto e = db_error(db_, "tlsrpt insert");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return e;
      }
    }
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    auto e = db_error(db_, "tlsrpt commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  }
  return {};
}

Result<std::vector<std::string>> TlsReportStore::pending_domains(const std::string& day) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT DISTINCT domain FROM tlsrpt_sessions s WHERE day = ?1 AND NOT EXISTS"
         " (SELECT 1 FROM tlsrpt_sent t WHERE t.day = ?1 AND t.domain = s.domain) ORDER BY domain");
  if (!q) return db_error(db_, "tlsrpt select");
  q.text(1, day);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) out.push_back(q.col(0));
  if (rc != SQLITE_DONE) return db_error(db_, "tlsrpt select");
  return out;
}

Result<std::vector<ReportRow>> TlsReportStore::rows(const std::string& day, const std::string& domain) {
  std::lock_guard lock(mu_);
  Stmt q(db_,
         "SELECT policy_type, policy_string, mx_host, receiving_mx, receiving_ip, result, count"
         " FROM tlsrpt_sessions WHERE day = ? AND domain = ?");
  if (!q) return db_error(db_, "tlsrpt select");
  q.text(1, day);
  q.text(2, domain);
  std::vector<ReportRow> out;
  int rc;
  while ((rc = sqlite3_step(q.s)) == SQLITE_ROW) {
    ReportRow r;
    r.policy.type = q.col(0);
    r.policy.strings = split_lines(q.col(1));
    r.policy.mx = split_lines(q.col(2));
    r.receiving_mx = q.col(3);
    r.receiving_ip = q.col(4);
    r.result = q.col(5);
    r.count = static_cast<uint64_t>(sqlite3_column_int64(q.s, 6));
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return db_error(db_, "tlsrpt select");
  return out;
}

Result<void> TlsReportStore::mark_sent(const std::string& day, const std::string& domain, int64_t now) {
  std::lock_guard lock(mu_);
  Stmt q(db_, "INSERT OR REPLACE INTO tlsrpt_sent VALUES (?, ?, ?)");
  if (!q) return db_error(db_, "tlsrpt mark");
  q.text(1, day);
  q.text(2, domain);
  sqlite3_bind_int64(q.s, 3, now);
  if (sqlite3_step(q.s) != SQLITE_DONE) return db_error(db_, "tlsrpt mark");
  return {};
}

Result<void> TlsReportStore::prune(int64_t now) {
  std::lock_guard lock(mu_);
  std::string oldest = utc_day(now - int64_t{kKeepDays} * 86400);
  for (const char* sql :
       {"DELETE FROM tlsrpt_sessions WHERE day < ?", "DELETE FROM tlsrpt_sent WHERE day < ?"}) {
    Stmt q(db_, sql);
    if (!q) return db_error(db_, "tlsrpt prune");
    q.text(1, oldest);
    if (sqlite3_step(q.s) != SQLITE_DONE) return db_error(db_, "tlsrpt prune");
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
