// The MariaDB/MySQL driver (libmariadb): one MYSQL handle per Connection,
// server-side prepared statements cached by statement text, every value
// bound as a string with its length (NUL bytes and all) and every result
// column fetched as text, grown on truncation.
//
// The socket has connect, read and write timeouts, so a server that died
// mid-query costs at most query_timeout; the handle never reconnects by
// itself (a reconnect would lose the prepared statements and any open
// transaction): a lost connection turns unusable and the pool replaces it.
// execute() returns the rows matched (CLIENT_FOUND_ROWS), like SQLite and
// PostgreSQL, not only the rows whose values changed.
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>

#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql/engines.h"

namespace mailfort::sql {

namespace {

// Keeps the statement cache from growing without bound on ad-hoc text.
constexpr std::size_t kMaxCachedStatements = 256;
constexpr std::size_t kInitialColumnBuffer = 256;

// Errors after which the handle is of no further use.
bool connection_lost(unsigned no) {
  switch (no) {
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_CONN_HOST_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_COMMANDS_OUT_OF_SYNC:
    case CR_SSL_CONNECTION_ERROR:
    case ER_SERVER_SHUTDOWN:
    case ER_CONNECTION_KILLED:
      return true;
    default:
      return false;
  }
}

Errc errc_of(unsigned no) {
  if (connection_lost(no)) return Errc::Temp;
  switch (no) {
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
    case ER_CON_COUNT_ERROR:
    case ER_TOO_MANY_USER_CONNECTIONS:
    case ER_QUERY_INTERRUPTED:
    case ER_STATEMENT_TIMEOUT:
    case CR_OUT_OF_MEMORY:
      return Errc::Temp;
    case ER_DUP_ENTRY:
    case ER_DUP_ENTRY_WITH_KEY_NAME:
    case ER_DUP_KEY:
      return Errc::Exists;
    case ER_NO_REFERENCED_ROW:
    case ER_ROW_IS_REFERENCED:
    case ER_NO_REFERENCED_ROW_2:
    case ER_ROW_IS_REFERENCED_2:
    case ER_BAD_NULL_ERROR:
    case ER_CONSTRAINT_FAILED:
    case ER_DATA_TOO_LONG:
    case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD:
    case ER_TRUNCATED_WRONG_VALUE:
    case ER_WARN_DATA_OUT_OF_RANGE:
    case ER_NO_DEFAULT_FOR_FIELD:
    case ER_PARSE_ERROR:
    case ER_SYNTAX_ERROR:
    case ER_WRONG_VALUE_COUNT_ON_ROW:
      return Errc::Invalid;
    default:
      return Errc::Perm;
  }
}

void library_init() {
  // libmariadb's mysql_init() would do this too, but not thread-safely;
  // mysql_thread_init() is a no-op there (no per-thread state to set up).
  static std::once_flag once;
  std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

struct Statement {
  MYSQL_STMT* stmt = nullptr;
  std::vector<std::string> names;
};

// One result column fetched as text.
struct Column {
  std::vector<char> buf = std::vector<char>(kInitialColumnBuffer);
  unsigned long length = 0;
  my_bool is_null = 0;
  my_bool error = 0;
};

class MysqlConnection final : public Connection {
 public:
  explicit MysqlConnection(MYSQL* db) : db_(db) {}
  ~MysqlConnection() override {
    for (auto& [text, s] : cache_) mysql_stmt_close(s.stmt);
    mysql_close(db_);
  }

  Dialect dialect() const override { return Dialect::MySQL; }
  bool usable() const override { return usable_; }

  Result<std::vector<Row>> query(std::string_view sql, const Params& params) override {
    auto s = run(sql, params);
    if (!s) return s.error();
    auto rows = fetch_all((*s)->stmt);
    mysql_stmt_free_result((*s)->stmt);
    return rows;
  }

  Result<uint64_t> execute(std::string_view sql, const Params& params) override {
    auto s = run(sql, params);
    if (!s) return s.error();
    MYSQL_STMT* st = (*s)->stmt;
    uint64_t n = mysql_stmt_affected_rows(st);
    if (mysql_stmt_field_count(st) > 0) {  // a statement with rows: drain them
      mysql_stmt_free_result(st);
      n = 0;
    }
    return n == static_cast<uint64_t>(-1) ? 0 : n;
  }

  Result<void> execute_script(std::string_view sql) override {
    if (!usable_) return make_error(Errc::Temp, "mysql: the connection was lost");
    if (mysql_set_server_option(db_, MYSQL_OPTION_MULTI_STATEMENTS_ON)) return error_of_db("script");
    Result<void> out;
    if (mysql_real_query(db_, sql.data(), sql.size())) {
      out = error_of_db("script");
    } else {
      for (;;) {
        if (MYSQL_RES* res = mysql_store_result(db_)) mysql_free_result(res);
        int more = mysql_next_result(db_);
        if (more < 0) break;
        if (more > 0) {
          out = error_of_db("script");
          break;
        }
      }
    }
    if (usable_ && mysql_set_server_option(db_, MYSQL_OPTION_MULTI_STATEMENTS_OFF) && out)
      out = error_of_db("script");
    return out;
  }

  Result<void> begin() override { return simple("START TRANSACTION"); }
  Result<void> commit() override { return simple("COMMIT"); }
  Result<void> rollback() override { return simple("ROLLBACK"); }

 private:
  Error error(unsigned no, const char* msg, const char* what) {
    if (connection_lost(no)) usable_ = false;
    return make_error(errc_of(no),
                      std::string("mysql ") + what + ": " + msg + " (" + std::to_string(no) + ")");
  }
  Error error_of_db(const char* what) { return error(mysql_errno(db_), mysql_error(db_), what); }
  Error error_of(MYSQL_STMT* st, const char* what) {
    return error(mysql_stmt_errno(st), mysql_stmt_error(st), what);
  }

  Result<void> simple(const char* sql) {
    if (!usable_) return make_error(Errc::Temp, "mysql: the connection was lost");
    if (mysql_real_query(db_, sql, std::strlen(sql))) return error_of_db(sql);
    return {};
  }

  Result<Statement*> prepared(std::string_view sql) {
    std::string key(sql);
    if (auto it = cache_.find(key); it != cache_.end()) return &it->second;
    auto t = translate(sql, Dialect::MySQL);
    if (!t) return t.error();
    if (cache_.size() >= kMaxCachedStatements) {
      for (auto& [text, s] : cache_) mysql_stmt_close(s.stmt);
      cache_.clear();
    }
    MYSQL_STMT* st = mysql_stmt_init(db_);
    if (!st) return error_of_db("statement");
    if (mysql_stmt_prepare(st, t->text.data(), t->text.size())) {
      auto e = error_of(st, "prepare");
      mysql_stmt_close(st);
      return e;
    }
    auto& s = cache_[key];
    s.stmt = st;
    s.names = std::move(t->names);
    return &s;
  }

  // Prepares (once), binds and executes.
  Result<Statement*> run(std::string_view sql, const Params& params) {
    if (!usable_) return make_error(Errc::Temp, "mysql: the connection was lost");
    auto s = prepared(sql);
    if (!s) return s.error();
    auto values = bind_order((*s)->names, params);
    if (!values) return values.error();
    std::size_t n = values->size();
    std::vector<MYSQL_BIND> binds(n);
    std::vector<unsigned long> lengths(n);
    std::vector<my_bool> nulls(n);
    for (std::size_t i = 0; i < n; ++i) {
      const Value& v = (*values)[i];
      MYSQL_BIND& b = binds[i];
      b.buffer_type = MYSQL_TYPE_STRING;
      nulls[i] = !v.has_value();
      b.is_null = &nulls[i];
      lengths[i] = v ? v->size() : 0;
      b.length = &lengths[i];  // never strlen: values may hold NUL
      b.buffer = v ? const_cast<char*>(v->data()) : nullptr;
      b.buffer_length = lengths[i];
    }
    MYSQL_STMT* st = (*s)->stmt;
    if (n && mysql_stmt_bind_param(st, binds.data())) return error_of(st, "bind");
    if (mysql_stmt_execute(st)) return error_of(st, "execute");
    return *s;
  }

  Result<std::vector<Row>> fetch_all(MYSQL_STMT* st) {
    unsigned ncols = mysql_stmt_field_count(st);
    std::vector<Row> rows;
    if (ncols == 0) return rows;
    std::vector<Column> cols(ncols);
    std::vector<MYSQL_BIND> binds(ncols);
    auto bind_column = [&](unsigned i) {
      MYSQL_BIND& b = binds[i];
      b = MYSQL_BIND{};
      b.buffer_type = MYSQL_TYPE_STRING;
      b.buffer = cols[i].buf.data();
      b.buffer_length = cols[i].buf.size();
      b.length = &cols[i].length;
      b.is_null = &cols[i].is_null;
      b.error = &cols[i].error;
    };
    for (unsigned i = 0; i < ncols; ++i) bind_column(i);
    if (mysql_stmt_bind_result(st, binds.data())) return error_of(st, "bind result");
    for (;;) {
      int rc = mysql_stmt_fetch(st);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) return error_of(st, "fetch");
      bool regrown = false;
      if (rc == MYSQL_DATA_TRUNCATED) {
        for (unsigned i = 0; i < ncols; ++i) {
          if (cols[i].is_null || cols[i].length <= cols[i].buf.size()) continue;
          cols[i].buf.resize(cols[i].length);
          bind_column(i);
          if (mysql_stmt_fetch_column(st, &binds[i], i, 0)) return error_of(st, "fetch column");
          regrown = true;
        }
      }
      Row row;
      row.reserve(ncols);
      for (auto& c : cols) {
        if (c.is_null)
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(std::string(c.buf.data(), c.length));
      }
      rows.push_back(std::move(row));
      if (regrown && mysql_stmt_bind_result(st, binds.data())) return error_of(st, "bind result");
    }
    return rows;
  }

  MYSQL* db_;
  bool usable_ = true;
  std::unordered_map<std::string, Statement> cache_;
};

}  // namespace

Result<std::unique_ptr<Connection>> connect_mysql(const ConnectOptions& o) {
  library_init();
  MYSQL* db = mysql_init(nullptr);
  if (!db) return make_error(Errc::Temp, "mysql: out of memory");
  unsigned connect_timeout = static_cast<unsigned>(o.connect_timeout.count());
  unsigned io_timeout = static_cast<unsigned>(o.query_timeout.count());
  my_bool off = 0, on = 1;
  mysql_options(db, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(db, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(db, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  mysql_options(db, MYSQL_OPT_RECONNECT, &off);
  mysql_options(db, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!o.socket.empty()) {
    unsigned proto = MYSQL_PROTOCOL_SOCKET;
    mysql_options(db, MYSQL_OPT_PROTOCOL, &proto);
  }
  if (o.tls != ConnectOptions::Tls::None) {
    mysql_options(db, MYSQL_OPT_SSL_ENFORCE, &on);
    my_bool verify = o.tls == ConnectOptions::Tls::Verify;
    mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    if (verify && !o.tls_ca_file.empty()) mysql_options(db, MYSQL_OPT_SSL_CA, o.tls_ca_file.c_str());
  } else {
    mysql_options(db, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &off);
  }
  auto opt = [](const std::string& s) { return s.empty() ? nullptr : s.c_str(); };
  unsigned long flags = CLIENT_FOUND_ROWS | CLIENT_MULTI_RESULTS;
  if (!mysql_real_connect(db, opt(o.host), opt(o.user), opt(o.password), opt(o.database), o.port,
                          opt(o.socket), flags)) {
    unsigned no = mysql_errno(db);
    Errc c = no == ER_ACCESS_DENIED_ERROR || no == ER_DBACCESS_DENIED_ERROR || no == ER_BAD_DB_ERROR ||
                     no == ER_HOST_NOT_PRIVILEGED || no == ER_HOST_IS_BLOCKED
                 ? Errc::Perm
                 : Errc::Temp;
    Error e = make_error(
        c, "mysql connect to " + o.display() + ": " + mysql_error(db) + " (" + std::to_string(no) + ")");
    mysql_close(db);
    return e;
  }
  return std::unique_ptr<Connection>(std::make_unique<MysqlConnection>(db));
}

}  // namespace mailfort::sql
