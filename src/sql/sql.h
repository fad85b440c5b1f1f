// SQL access for the directory on its three engines: SQLite (embedded
// default), MariaDB/MySQL (libmariadb) and PostgreSQL (libpq).
//
// Statements are written once with :named parameters and translated per
// engine (`?` for SQLite and MariaDB, `$1..$n` for PostgreSQL); every value
// is bound, never spliced into the text, so an address with quotes,
// backslashes, '%', '_', NUL or UTF-8 stays data. A connection prepares a
// statement once and reuses it.
//
// Values travel as text (NULL apart): numbers and booleans as their decimal
// text ("1", "0"), which all three engines convert on both sides; readers
// of booleans accept "1"/"t"/"true".
//
// Every call blocks (network, disk): call on a worker pool, never on an I/O
// thread. A Connection is used by one thread at a time; Pool is
// thread-safe.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::sql {

enum class Dialect { SQLite, MySQL, PostgreSQL };
const char* dialect_name(Dialect d);  // "sqlite" | "mysql" | "postgresql"

using Value = std::optional<std::string>;  // nullopt = NULL
using Row = std::vector<Value>;

struct Param {
  std::string name;  // without the colon
  Value value;
};
using Params = std::vector<Param>;

// A statement's text with :name parameters replaced by the engine's
// placeholders, and the names in placeholder order: for `?` (SQLite,
// MySQL) a name used twice appears twice; for PostgreSQL a name used again
// reuses its $n, so each distinct name appears once, in $1..$n order.
// Colons inside quoted strings, quoted identifiers and comments, and "::"
// casts are left alone. Invalid when a ':' has no name after it, a
// positional placeholder ('?', '$1') is written, or the text ends inside a
// quote or comment.
struct Translated {
  std::string text;
  std::vector<std::string> names;
};
Result<Translated> translate(std::string_view sql, Dialect dialect);

// The bound values for `names`, looked up in `params`. Invalid when a name
// has no value.
Result<std::vector<Value>> bind_order(const std::vector<std::string>& names, const Params& params);

// Where the database is. From a URL:
//   sqlite:///var/lib/mailfort/directory.sqlite   (sqlite:relative/path too)
//   mysql://vmail@127.0.0.1:3306/vmail            (mariadb:// is the same)
//   mysql://vmail@localhost/vmail?socket=/run/mysqld/mysqld.sock
//   postgresql://vmail@127.0.0.1:5432/vmail       (postgres:// is the same)
//   postgresql://vmail@/vmail?host=/var/run/postgresql
// A password in the URL is refused (it would end up in the config and in
// logs): it comes from a file (password_file) into `password`.
struct ConnectOptions {
  Dialect dialect = Dialect::SQLite;
  std::string path;  // SQLite file
  std::string host;  // empty = the engine's default (unix socket)
  uint16_t port = 0;  // 0 = the engine's default
  std::string socket;  // unix socket path (mysql ?socket=, postgresql ?host=/dir)
  std::string user;
  std::string password;
  std::string database;
  enum class Tls { None, Require, Verify };
  Tls tls = Tls::None;        // Require: encrypted; Verify: also the certificate and host name
  std::string tls_ca_file;    // Verify: CA bundle; empty = the system's
  std::chrono::seconds connect_timeout{5};
  std::chrono::seconds query_timeout{10};  // read/write timeout on the socket
  // The URL without user info, for logs and messages.
  std::string display() const;
};
Result<ConnectOptions> parse_url(std::string_view url);

// Errors: Errc::Temp when the server cannot be reached or the connection
// broke (retry may succeed), Errc::Exists for a unique-key violation,
// Errc::Invalid for a constraint or syntax error, Errc::Perm otherwise.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // A statement returning rows (SELECT); `sql` uses :name parameters.
  virtual Result<std::vector<Row>> query(std::string_view sql, const Params& params) = 0;
  // A statement changing rows; returns the number of rows it changed.
  virtual Result<uint64_t> execute(std::string_view sql, const Params& params) = 0;
  // Statements separated by ';' without parameters (schema creation).
  virtual Result<void> execute_script(std::string_view sql) = 0;
  virtual Result<void> begin() = 0;
  virtual Result<void> commit() = 0;
  virtual Result<void> rollback() = 0;
  // False once the connection broke; the pool then drops it.
  virtual bool usable() const = 0;
};

Result<std::unique_ptr<Connection>> connect(const ConnectOptions& options);

// A bounded set of connections to one database, opened on demand. A call
// waits (up to `acquire_timeout`) for a free connection. A broken
// connection is dropped and a new one opened on the next call; after a
// failed connect the pool waits (backoff doubling from 0.25 s to 10 s)
// before trying again, failing calls at once with Errc::Temp meanwhile, so
// a database that is down costs callers nothing but the error.
class Pool {
 public:
  static std::shared_ptr<Pool> create(ConnectOptions options, std::size_t size,
                                      std::chrono::milliseconds acquire_timeout = std::chrono::seconds(5));
  ~Pool();

  // Runs `fn` with a connection. A Temp error from fn on a connection that
  // became unusable is retried once on a fresh connection when `retry` is
  // set (reads; not writes that may have been applied). After fn returns an
  // error the connection is rolled back, so a transaction fn began never
  // outlives it; on success fn must have committed what it began.
  Result<void> with(const std::function<Result<void>(Connection&)>& fn, bool retry = true);
  template <class T>
  Result<T> run(const std::function<Result<T>(Connection&)>& fn, bool retry = true) {
    std::optional<T> out;
    auto r = with(
        [&](Connection& c) -> Result<void> {
          auto v = fn(c);
          if (!v) return v.error();
          out.emplace(std::move(v).value());
          return {};
        },
        retry);
    if (!r) return r.error();
    return std::move(*out);
  }

  Dialect dialect() const;
  const ConnectOptions& options() const;
  bool healthy() const;            // the last connect or call reached the server
  std::string last_error() const;  // why not, for logs and /readyz

 private:
  struct Impl;
  explicit Pool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailfort::sql
