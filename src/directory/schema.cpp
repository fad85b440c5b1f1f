// The directory's tables per engine: the guide's four (domains, accounts,
// aliases, tlspolicies) as the guide writes them for MySQL and their
// equivalents for PostgreSQL and SQLite, then Mailfort's own mailfort_*
// tables. On SQLite, databases of earlier versions are brought up to date.
#include <string>

#include "directory/open.h"

namespace mailfort::directory {
namespace {

// The guide's statements (Postfix+Dovecot+MySQL), with IF NOT EXISTS.
constexpr const char* kGuideMySql = R"sql(
CREATE TABLE IF NOT EXISTS `domains` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `domain` varchar(255) NOT NULL,
    PRIMARY KEY (`id`),
    UNIQUE KEY (`domain`)
);
CREATE TABLE IF NOT EXISTS `accounts` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `username` varchar(64) NOT NULL,
    `domain` varchar(255) NOT NULL,
    `password` varchar(255) NOT NULL,
    `quota` int unsigned DEFAULT '0',
    `enabled` boolean DEFAULT '0',
    `sendonly` boolean DEFAULT '0',
    PRIMARY KEY (id),
    UNIQUE KEY (`username`, `domain`),
    FOREIGN KEY (`domain`) REFERENCES `domains` (`domain`)
);
CREATE TABLE IF NOT EXISTS `aliases` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `source_username` varchar(64) NOT NULL,
    `source_domain` varchar(255) NOT NULL,
    `destination_username` varchar(64) NOT NULL,
    `destination_domain` varchar(255) NOT NULL,
    `enabled` boolean DEFAULT '0',
    PRIMARY KEY (`id`),
    UNIQUE KEY (`source_username`, `source_domain`, `destination_username`, `destination_domain`),
    FOREIGN KEY (`source_domain`) REFERENCES `domains` (`domain`)
);
CREATE TABLE IF NOT EXISTS `tlspolicies` (
    `id` int unsigned NOT NULL AUTO_INCREMENT,
    `domain` varchar(255) NOT NULL,
    `policy` enum('none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure') NOT NULL,
    `params` varchar(255),
    PRIMARY KEY (`id`),
    UNIQUE KEY (`domain`)
);
)sql";

// The same tables and columns on PostgreSQL.
constexpr const char* kGuidePostgreSql = R"sql(
CREATE TABLE IF NOT EXISTS domains (
    id SERIAL PRIMARY KEY,
    domain VARCHAR(255) NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS accounts (
    id SERIAL PRIMARY KEY,
    username VARCHAR(64) NOT NULL,
    domain VARCHAR(255) NOT NULL REFERENCES domains (domain),
    password VARCHAR(255) NOT NULL,
    quota INTEGER DEFAULT 0 CHECK (quota >= 0),
    enabled BOOLEAN DEFAULT false,
    sendonly BOOLEAN DEFAULT false,
    UNIQUE (username, domain)
);
CREATE TABLE IF NOT EXISTS aliases (
    id SERIAL PRIMARY KEY,
    source_username VARCHAR(64) NOT NULL,
    source_domain VARCHAR(255) NOT NULL REFERENCES domains (domain),
    destination_username VARCHAR(64) NOT NULL,
    destination_domain VARCHAR(255) NOT NULL,
    enabled BOOLEAN DEFAULT false,
    UNIQUE (source_username, source_domain, destination_username, destination_domain)
);
CREATE TABLE IF NOT EXISTS tlspolicies (
    id SERIAL PRIMARY KEY,
    domain VARCHAR(255) NOT NULL UNIQUE,
    policy VARCHAR(16) NOT NULL CHECK (policy IN ('none', 'may', 'encrypt', 'dane', 'dane-only', 'fingerprint', 'verify', 'secure')),
    params VARCHAR(255)
);
)sql";

// As SQLite directories have always been created (a catch-all's
// source_username may be NULL there).
constexpr const char* kGuideSqlite = R"sql(
CREATE TABLE IF NOT EXISTS domains (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain VARCHAR(255) NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username VARCHAR(64) NOT NULL,
  domain VARCHAR(255) NOT NULL REFERENCES domains(domain),
  password VARCHAR(255) NOT NULL,
  quota INTEGER DEFAULT 0,
  enabled BOOLEAN DEFAULT 0,
  sendonly BOOLEAN DEFAULT 0,
  UNIQUE (username, domain)
);
CREATE TABLE IF NOT EXISTS aliases (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  source_username VARCHAR(64),
  source_domain VARCHAR(255) NOT NULL REFERENCES domains(domain),
  destination_username VARCHAR(64) NOT NULL,
  destination_domain VARCHAR(255) NOT NULL,
  enabled BOOLEAN DEFAULT 0,
  UNIQUE (source_username, source_domain, destination_username, destination_domain)
);
CREATE TABLE IF NOT EXISTS tlspolicies (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  domain VARCHAR(255) NOT NULL UNIQUE,
  policy VARCHAR(16) NOT NULL CHECK (policy IN ('none','may','encrypt','dane','dane-only','fingerprint','verify','secure')),
  params VARCHAR(255)
);
)sql";

// Mailfort's own tables, one text for every engine: flags are INTEGER 0/1
// (read as 1/t/true), counts INTEGER, NULL = not set.
constexpr const char* kMailfortTables = R"sql(
CREATE TABLE IF NOT EXISTS mailfort_domain_settings (
  domain VARCHAR(255) NOT NULL PRIMARY KEY,
  require_tls INTEGER NOT NULL DEFAULT 0,
  send_per_hour INTEGER,
  allow_any_from INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mailfort_account_settings (
  address VARCHAR(320) NOT NULL PRIMARY KEY,
  send_per_hour INTEGER,
  allow_any_from INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS mailfort_access (
  entry VARCHAR(320) NOT NULL PRIMARY KEY,
  action VARCHAR(8) NOT NULL CHECK (action IN ('permit', 'reject'))
);
)sql";

Result<bool> sqlite_has_table(sql::Connection& c, const std::string& name) {
  auto rows = c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name", {{"name", name}});
  if (!rows) return rows.error();
  return !rows->empty();
}

// Earlier SQLite directories: the tables without the mailfort_ prefix are
// renamed (once; a database holding both keeps the old one untouched).
Result<void> rename_old_tables(sql::Connection& c) {
  for (const char* old : {"domain_settings", "account_settings", "access"}) {
    std::string from(old), to = "mailfort_" + from;
    auto has_old = sqlite_has_table(c, from);
    if (!has_old) return has_old.error();
    if (!has_old.value()) continue;
    auto has_new = sqlite_has_table(c, to);
    if (!has_new) return has_new.error();
    if (has_new.value()) continue;
    // Both names are our literals.
    if (auto r = c.execute_script("ALTER TABLE " + from + " RENAME TO " + to); !r)
      return make_error(r.error().code, "rename " + from + " to " + to + ": " + r.error().message);
  }
  return {};
}

// Columns added after a table first shipped; each step is idempotent so
// databases of every earlier version open unchanged.
Result<void> add_missing_columns(sql::Connection& c) {
  struct Column {
    const char* table;
    const char* name;
    const char* decl;
  };
  static constexpr Column kAdded[] = {
      {"mailfort_domain_settings", "send_per_hour", "INTEGER"},
      {"mailfort_domain_settings", "allow_any_from", "BOOLEAN NOT NULL DEFAULT 0"},
      {"mailfort_account_settings", "allow_any_from", "BOOLEAN NOT NULL DEFAULT 0"},
  };
  for (const auto& col : kAdded) {
    std::string table(col.table), name(col.name);
    auto rows = c.query("SELECT name FROM pragma_table_info(:table) WHERE name = :name",
                        {{"table", table}, {"name", name}});
    if (!rows)
      return make_error(rows.error().code, "read the " + table + " columns: " + rows.error().message);
    if (!rows->empty()) continue;
    if (auto r = c.execute_script("ALTER TABLE " + table + " ADD COLUMN " + name + " " + col.decl); !r)
      return make_error(r.error().code, "add " + table + "." + name + ": " + r.error().message);
  }
  return {};
}

}  // namespace

std::string schema_sql(sql::Dialect dialect, bool guide_tables) {
  std::string out;
  if (guide_tables) {
    switch (dialect) {
      case sql::Dialect::MySQL:
        out = kGuideMySql;
        break;
      case sql::Dialect::PostgreSQL:
        out = kGuidePostgreSql;
        break;
      case sql::Dialect::SQLite:
        out = kGuideSqlite;
        break;
    }
  }
  out += kMailfortTables;
  return out;
}

Result<void> init_schema(sql::Connection& conn, bool guide_tables) {
  if (conn.dialect() == sql::Dialect::SQLite)
    if (auto r = rename_old_tables(conn); !r) return r;
  if (auto r = conn.execute_script(schema_sql(conn.dialect(), guide_tables)); !r)
    return make_error(r.error().code, "cannot create the directory's tables: " + r.error().message);
  if (conn.dialect() == sql::Dialect::SQLite)
    if (auto r = add_missing_columns(conn); !r) return r;
  return {};
}

}  // namespace mailfort::directory
