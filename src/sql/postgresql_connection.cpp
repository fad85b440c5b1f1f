// The PostgreSQL driver (libpq): one PGconn per Connection, each statement
// text prepared once (s1, s2, ...) and executed with text parameters and
// their lengths. PostgreSQL text cannot hold NUL: a value with one is
// refused (Invalid), never cut short.
//
// A dead server must not hang a worker: the connection has connect_timeout,
// statement_timeout (query_timeout) on the server side, and TCP keepalives
// plus tcp_user_timeout on the client side, so a peer that vanished without
// a FIN (cable, crashed host) is noticed within about query_timeout.
#include <libpq-fe.h>

#include <charconv>
#include <cstring>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql/engines.h"

namespace mailfort::sql {

namespace {

constexpr std::size_t kMaxCachedStatements = 256;

struct Statement {
  std::string name;
  std::vector<std::string> names;
};

// SQLSTATE to Errc (https://www.postgresql.org/docs/current/errcodes-appendix.html).
Errc errc_of(std::string_view state) {
  if (state == "23505") return Errc::Exists;
  if (state.starts_with("23")) return Errc::Invalid;            // integrity constraint
  if (state.starts_with("22")) return Errc::Invalid;            // data exception (bad UTF-8, too long)
  if (state == "42601") return Errc::Invalid;                   // syntax error
  if (state == "40001" || state == "40P01") return Errc::Temp;  // serialization failure, deadlock
  if (state.starts_with("08") || state.starts_with("57P")) return Errc::Temp;  // connection, shutdown
  if (state == "57014" || state.starts_with("53") || state == "55P03")
    return Errc::Temp;  // timeout, resources, lock
  return Errc::Perm;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  ~PgConnection() override { PQfinish(conn_); }

  Dialect dialect() const override { return Dialect::PostgreSQL; }
  bool usable() const override { return usable_ && PQstatus(conn_) == CONNECTION_OK; }

  Result<std::vector<Row>> query(std::string_view sql, const Params& params) override {
    auto r = run(sql, params);
    if (!r) return r.error();
    PGresult* res = r->get();
    std::vector<Row> rows;
    int n = PQntuples(res), cols = PQnfields(res);
    rows.reserve(n);
    for (int i = 0; i < n; ++i) {
      Row row;
      row.reserve(cols);
      for (int j = 0; j < cols; ++j) {
        if (PQgetisnull(res, i, j))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(std::string(PQgetvalue(res, i, j), PQgetlength(res, i, j)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<uint64_t> execute(std::string_view sql, const Params& params) override {
    auto r = run(sql, params);
    if (!r) return r.error();
    const char* t = PQcmdTuples(r->get());
    uint64_t n = 0;
    std::from_chars(t, t + std::strlen(t), n);  // "" (no count) stays 0
    return n;
  }

  Result<void> execute_script(std::string_view sql) override {
    // The simple query protocol runs ';'-separated statements in one go.
    return simple(std::string(sql).c_str(), "script");
  }
  Result<void> begin() override { return simple("BEGIN", "BEGIN"); }
  Result<void> commit() override { return simple("COMMIT", "COMMIT"); }
  Result<void> rollback() override { return simple("ROLLBACK", "ROLLBACK"); }

 private:
  // The error of `res` (or of the connection when there is no result).
  Error error(const PGresult* res, const char* what) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string msg = res ? PQresultErrorMessage(res) : "";
    if (msg.empty()) msg = PQerrorMessage(conn_);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    bool lost = PQstatus(conn_) != CONNECTION_OK;
    if (lost) usable_ = false;
    Errc c = lost ? Errc::Temp : state ? errc_of(state) : Errc::Perm;
    std::string out = std::string("postgresql ") + what + ": " + msg;
    if (state) out += std::string(" (") + state + ")";
    return make_error(c, std::move(out));
  }

  Result<void> simple(const char* sql, const char* what) {
    if (!usable()) return make_error(Errc::Temp, "postgresql: the connection was lost");
    PgResult res(PQexec(conn_, sql));
    auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY)
      return error(res.get(), what);
    return {};
  }

  Result<const Statement*> prepared(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
    auto t = translate(sql, Dialect::PostgreSQL);
    if (!t) return t.error();
    if (cache_.size() >= kMaxCachedStatements) {
      PgResult d(PQexec(conn_, "DEALLOCATE ALL"));
      if (!d || PQresultStatus(d.get()) != PGRES_COMMAND_OK) return error(d.get(), "DEALLOCATE");
      cache_.clear();
    }
    std::string name = "s" + std::to_string(++counter_);
    PgResult res(PQprepare(conn_, name.c_str(), t->text.c_str(), static_cast<int>(t->names.size()), nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) return error(res.get(), "prepare");
    auto& s = cache_[key];
    s.name = std::move(name);
    s.names = std::move(t->names);
    return &s;
  }

  Result<PgResult> run(std::string_view sql, const Params& params) {
    if (!usable()) return make_error(Errc::Temp, "postgresql: the connection was lost");
    auto s = prepared(sql);
    if (!s) return s.error();
    auto values = bind_order((*s)->names, params);
    if (!values) return values.error();
    std::size_t n = values->size();
    std::vector<const char*> ptrs(n);
    std::vector<int> lengths(n), formats(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const Value& v = (*values)[i];
      if (!v) continue;
      if (v->find('\0') != std::string::npos)
        return make_error(Errc::Invalid, "postgresql: NUL in value for :" + (*s)->names[i]);
      ptrs[i] = v->c_str();
      lengths[i] = static_cast<int>(v->size());
    }
    PgResult res(PQexecPrepared(conn_, (*s)->name.c_str(), static_cast<int>(n), ptrs.data(), lengths.data(),
                                formats.data(), 0));
    auto st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(res.get(), "execute");
    return res;
  }

  PGconn* conn_;
  bool usable_ = true;
  unsigned counter_ = 0;
  std::unordered_map<std::string, Statement> cache_;
};

void no_notices(void*, const char*) {}  // "already exists, skipping" and the like

// Verify without a CA file: the system's bundle ("system" from libpq 16).
std::string system_ca() {
  if (PQlibVersion() >= 160000) return "system";
  for (const char* p :
       {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"})
    if (std::filesystem::exists(p)) return p;
  return "system";
}

}  // namespace

Result<std::unique_ptr<Connection>> connect_postgresql(const ConnectOptions& o) {
  long long timeout_ms = static_cast<long long>(o.query_timeout.count()) * 1000;
  std::string port = o.port ? std::to_string(o.port) : "";
  std::string connect_timeout = std::to_string(std::max<long long>(o.connect_timeout.count(), 1));
  std::string options = "-c statement_timeout=" + std::to_string(timeout_ms);
  std::string user_timeout = std::to_string(timeout_ms);
  std::string keepalive_idle = std::to_string(std::max<long long>(o.query_timeout.count() / 2, 1));
  const char* sslmode = o.tls == ConnectOptions::Tls::None      ? "disable"
                        : o.tls == ConnectOptions::Tls::Require ? "require"
                                                                : "verify-full";
  std::string ca =
      o.tls == ConnectOptions::Tls::Verify ? (o.tls_ca_file.empty() ? system_ca() : o.tls_ca_file) : "";
  const std::string& host = o.socket.empty() ? o.host : o.socket;

  std::vector<const char*> keys, values;
  auto add = [&](const char* k, std::string_view v) {  // v outlives PQconnectdbParams
    if (v.empty()) return;
    keys.push_back(k);
    values.push_back(v.data());
  };
  add("host", host);
  add("port", port);
  add("user", o.user);
  add("password", o.password);
  add("dbname", o.database);
  add("connect_timeout", connect_timeout);
  add("sslmode", sslmode);
  add("sslrootcert", ca);
  // No client certificate, and none looked for in the home directory: the
  // server runs as an unprivileged user whose HOME may be root's, where
  // libpq's stat() of ~/.postgresql/postgresql.crt fails with EACCES and
  // that fails the connection. A missing file is "no certificate".
  add("sslcert", "/nonexistent/mailfort/postgresql.crt");
  add("sslkey", "/nonexistent/mailfort/postgresql.key");
  add("passfile", "/nonexistent/mailfort/pgpass");
  add("application_name", "mailfort");
  add("client_encoding", "UTF8");
  add("options", options);
  add("keepalives", "1");
  add("keepalives_idle", keepalive_idle);
  add("keepalives_interval", "2");
  add("keepalives_count", "3");
  add("tcp_user_timeout", user_timeout);
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (!conn) return make_error(Errc::Temp, "postgresql: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    for (auto& c : msg)
      if (c == '\n' || c == '\t') c = ' ';
    PQfinish(conn);
    // The server answered but refuses us: not worth retrying soon either,
    // but it is the configuration, not the network.
    bool refused =
        msg.find("authentication failed") != std::string::npos ||
        (msg.find("database \"") != std::string::npos && msg.find("does not exist") != std::string::npos);
    return make_error(refused ? Errc::Perm : Errc::Temp, "postgresql connect to " + o.display() + ": " + msg);
  }
  PQsetNoticeProcessor(conn, no_notices, nullptr);
  return std::unique_ptr<Connection>(std::make_unique<PgConnection>(conn));
}

}  // namespace mailfort::sql
