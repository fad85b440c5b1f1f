// Opening the directory the configuration names ([directory] backend):
// the SQLite file, or a MariaDB/MySQL or PostgreSQL server through a
// connection pool, with the lookup cache in front of a server.
//
// The guide's schema (domains, accounts, aliases, tlspolicies) is used as
// it is and never altered. The tables Mailfort adds beside it (domain and
// account settings, access lists) are named mailfort_*; on a server they
// are created by `mailfort directory init-schema` (schema_sql prints them
// first for a DBA to review), on SQLite at open.
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "directory/directory.h"
#include "sql/sql.h"

namespace mailfort::directory {

// The connection options [directory] describes (url, password_file, tls,
// timeouts); for sqlite the file. Errors name the key at fault.
Result<sql::ConnectOptions> connect_options(const config::Config& cfg);

struct SqlDirectoryOptions {
  std::shared_ptr<sql::Pool> pool;
  config::DirectoryQueries queries;  // empty = the guide's tables
};
// A directory on any SQL engine. With custom queries the lookups use them;
// writes (CLI, API, migrate) need the guide's tables and are refused
// (Errc::Perm, saying so) when the queries replace them.
Result<std::unique_ptr<Directory>> open_sql(SqlDirectoryOptions options);

// Remembers lookups (found and not found) for `ttl`: is_local_domain,
// find_account, resolve_recipient, find_tls_policy, sender_addresses,
// requires_tls, the limit and allow-any-from settings, list_access.
// Writes through this object clear it. authenticate is never cached (the
// auth cache does that, tied to the stored hash). ttl 0 = no cache.
std::unique_ptr<Directory> with_cache(std::unique_ptr<Directory> inner, std::chrono::seconds ttl);

// What the configuration names, ready to use: SQLite as before (no cache:
// it is local and CLI changes must show at once), a server through a pool
// of [directory] pool_size connections behind the cache. A server that is
// down does not fail the open: lookups fail with Errc::Temp until it is
// back (the pool reconnects with backoff).
Result<std::unique_ptr<Directory>> open_directory(const config::Config& cfg);

// The CREATE TABLE statements for `dialect`: the guide's four tables
// exactly as the guide writes them (MySQL) or their PostgreSQL equivalent
// with the same names and columns, when `guide_tables`, then the mailfort_*
// tables. Idempotent (IF NOT EXISTS).
std::string schema_sql(sql::Dialect dialect, bool guide_tables);

// Creates what schema_sql lists on `conn` (the guide's tables only when
// missing; never altered).
Result<void> init_schema(sql::Connection& conn, bool guide_tables);

}  // namespace mailfort::directory
