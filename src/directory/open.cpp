// The directory the configuration names: [directory] backend, url,
// password_file, tls, pool_size, cache_seconds, connect_timeout_seconds,
// [directory.queries].
#include <fstream>

#include "directory/open.h"

namespace mailfort::directory {

Result<sql::ConnectOptions> connect_options(const config::Config& cfg) {
  const auto& d = cfg.directory;
  sql::ConnectOptions o;
  if (d.backend == "sqlite") {
    o.dialect = sql::Dialect::SQLite;
    o.path = cfg.directory_db_path();
    return o;
  }
  if (d.url.empty())
    return make_error(Errc::Invalid, "directory.backend = \"" + d.backend + "\" needs directory.url");
  auto parsed = sql::parse_url(d.url);
  if (!parsed) return make_error(parsed.error().code, "directory.url: " + parsed.error().message);
  o = std::move(parsed).value();
  if (o.dialect == sql::Dialect::SQLite) {
    return make_error(Errc::Invalid,
                      "directory.url names an SQLite file: use backend = \"sqlite\" and "
                      "directory.path");
  }
  bool mysql = d.backend == "mysql" || d.backend == "mariadb";
  bool postgresql = d.backend == "postgresql" || d.backend == "postgres";
  if (!mysql && !postgresql)
    return make_error(Errc::Invalid,
                      "directory.backend: unknown backend '" + d.backend + "' (sqlite, mysql or postgresql)");
  if ((o.dialect == sql::Dialect::MySQL) != mysql) {
    return make_error(Errc::Invalid, "directory.url is a " + std::string(sql::dialect_name(o.dialect)) +
                                         " URL but directory.backend is \"" + d.backend + "\"");
  }
  if (!d.password_file.empty()) {
    std::ifstream in(d.password_file);
    if (!in) {
      return make_error(Errc::Invalid, "directory.password_file: cannot read " + d.password_file +
                                           " (it must exist and be readable by the mailfort user)");
    }
    std::string line;
    std::getline(in, line);
    if (in.bad()) return make_error(Errc::Invalid, "directory.password_file: cannot read " + d.password_file);
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    o.password = std::move(line);
  }
  if (d.tls == "none") {
    o.tls = sql::ConnectOptions::Tls::None;
  } else if (d.tls == "require") {
    o.tls = sql::ConnectOptions::Tls::Require;
  } else if (d.tls == "verify") {
    o.tls = sql::ConnectOptions::Tls::Verify;
  } else {
    return make_error(Errc::Invalid, "directory.tls: '" + d.tls + "' is not none, require or verify");
  }
  o.tls_ca_file = d.tls_ca_file;
  if (d.connect_timeout_seconds > 0) o.connect_timeout = std::chrono::seconds(d.connect_timeout_seconds);
  return o;
}

Result<std::unique_ptr<Directory>> open_directory(const config::Config& cfg) {
  auto opts = connect_options(cfg);
  if (!opts) return opts.error();
  if (opts->dialect == sql::Dialect::SQLite) {
    // Local: no cache (a CLI change must show at once); custom queries
    // apply to SQLite as to a server.
    if (!cfg.directory.queries.any()) return open_sqlite(opts->path);
    return open_sql(
        SqlDirectoryOptions{sql::Pool::create(std::move(opts).value(), 8), cfg.directory.queries});
  }
  // The pool connects on first use (with backoff): a server that is down
  // does not fail the open, lookups fail Temp until it is back.
  std::size_t size = cfg.directory.pool_size > 0 ? cfg.directory.pool_size : 1;
  auto pool = sql::Pool::create(std::move(opts).value(), size);
  auto dir = open_sql(SqlDirectoryOptions{std::move(pool), cfg.directory.queries});
  if (!dir) return dir.error();
  return with_cache(std::move(dir).value(), std::chrono::seconds(cfg.directory.cache_seconds));
}

}  // namespace mailfort::directory
