// sql::Connection over the one SQLite wrapper (base/sqlite.h): WAL, foreign
// keys on, a busy timeout; statements translated once and cached per text.
#include <string>
#include <unordered_map>

#include "base/sqlite.h"
#include "sql/engines.h"

namespace mailfort::sql {
namespace {

constexpr int kBusyTimeoutMs = 5000;

class SqliteConnection : public Connection {
 public:
  explicit SqliteConnection(sqlite::Database db) : db_(std::move(db)) {}

  Dialect dialect() const override { return Dialect::SQLite; }

  Result<std::vector<Row>> query(std::string_view sql, const Params& params) override {
    auto st = prepare(sql, params);
    if (!st) return st.error();
    sqlite::Statement& q = st.value();
    std::vector<Row> rows;
    int columns = -1;
    while (q.step()) {
      if (columns < 0) columns = q.columns();
      Row row;
      row.reserve(static_cast<std::size_t>(columns));
      for (int i = 0; i < columns; ++i) {
        if (q.is_null(i))
          row.emplace_back(std::nullopt);
        else
          row.emplace_back(q.text(i));
      }
      rows.push_back(std::move(row));
    }
    if (!q.done()) return error_of(q);
    return rows;
  }

  Result<uint64_t> execute(std::string_view sql, const Params& params) override {
    auto st = prepare(sql, params);
    if (!st) return st.error();
    if (!st->run()) return error_of(st.value());
    return static_cast<uint64_t>(db_.changes());
  }

  Result<void> execute_script(std::string_view sql) override {
    auto r = db_.exec(std::string(sql).c_str());
    if (!r) return map(r.error());
    return {};
  }

  Result<void> begin() override { return execute_script("BEGIN IMMEDIATE"); }
  Result<void> commit() override { return execute_script("COMMIT"); }
  Result<void> rollback() override { return execute_script("ROLLBACK"); }

  // A file database does not break the way a socket does: an error is the
  // statement's, the connection stays usable.
  bool usable() const override { return db_.is_open(); }

 private:
  // The statement for `sql` (translated and prepared once per text), with
  // `params` bound in placeholder order.
  Result<sqlite::Statement> prepare(std::string_view sql, const Params& params) {
    auto it = translated_.find(std::string(sql));
    if (it == translated_.end()) {
      auto t = translate(sql, Dialect::SQLite);
      if (!t) return t.error();
      it = translated_.emplace(std::string(sql), std::move(t).value()).first;
    }
    auto values = bind_order(it->second.names, params);
    if (!values) return values.error();
    sqlite::Statement q = db_.cached(it->second.text.c_str());
    if (!q.ok()) return error_of(q);
    for (std::size_t i = 0; i < values->size(); ++i) {
      const Value& v = (*values)[i];
      if (v)
        q.bind(static_cast<int>(i + 1), std::string_view(*v));
      else
        q.bind_null(static_cast<int>(i + 1));
    }
    return q;
  }

  // base/sqlite.h maps every constraint to Exists; sql.h wants a unique key
  // (duplicate) as Exists and any other constraint (NOT NULL, CHECK, a
  // foreign key) as Invalid.
  // A statement SQLite does not understand (SQLITE_ERROR: syntax, unknown
  // table or column) is Invalid too.
  static Error map(Error e, int rc = -1) {
    if (e.code == Errc::Exists && e.message.find("UNIQUE constraint failed") == std::string::npos)
      e.code = Errc::Invalid;
    if (rc >= 0 && (rc & 0xff) == SQLITE_ERROR) e.code = Errc::Invalid;
    return e;
  }
  static Error error_of(const sqlite::Statement& q) { return map(q.error("sqlite"), q.rc()); }

  sqlite::Database db_;
  std::unordered_map<std::string, Translated> translated_;
};

}  // namespace

Result<std::unique_ptr<Connection>> connect_sqlite(const ConnectOptions& options) {
  sqlite::Database::Options o;
  o.busy_timeout_ms = kBusyTimeoutMs;
  o.wal = true;
  auto db = sqlite::Database::open(options.path, o);
  if (!db) return make_error(db.error().code, "cannot open " + options.path + ": " + db.error().message);
  if (auto r = db->exec("PRAGMA foreign_keys=ON"); !r)
    return make_error(r.error().code, "cannot open " + options.path + ": " + r.error().message);
  return std::unique_ptr<Connection>(std::make_unique<SqliteConnection>(std::move(db).value()));
}

}  // namespace mailfort::sql
