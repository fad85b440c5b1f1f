// SQLite backend of the Directory, on the vmail schema of the
// Postfix+Dovecot+MySQL guide (column names and meanings unchanged).
#include <algorithm>
#include <cctype>
#include <functional>
#include <mutex>
#include <set>

#include "base/sqlite.h"
#include "base/text.h"
#include "directory/directory.h"
#include "directory/password.h"

namespace mailfort::directory {
namespace {

constexpr const char* kSchema = R"sql(
PRAGMA journal_mode=WAL;
PRAGMA foreign_keys=ON;
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
CREATE TABLE IF NOT EXISTS domain_settings (
  domain VARCHAR(255) PRIMARY KEY,
  require_tls BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS account_settings (
  address VARCHAR(320) PRIMARY KEY,
  send_per_hour INTEGER
);
CREATE TABLE IF NOT EXISTS access (
  entry VARCHAR(320) PRIMARY KEY,
  action VARCHAR(8) NOT NULL CHECK (action IN ('permit','reject'))
);
)sql";

constexpr int kMaxAliasDepth = 10;
constexpr std::size_t kMaxPool = 8;

using sqlite::Statement;

class SqliteDirectory : public Directory {
 public:
  explicit SqliteDirectory(std::string path) : path_(std::move(path)) {}

  Result<void> init() {
    auto c = acquire();
    if (!c) return c.error();
    Result<void> r = c->exec(kSchema);
    if (!r) r = make_error(r.error().code, "cannot create the schema in " + path_ + ": " + r.error().message);
    if (r.ok()) r = migrate(c.value());
    release(std::move(c).value());
    return r;
  }

  // Columns added after a table first shipped; each step is idempotent so
  // databases of every earlier version open unchanged.
  Result<void> migrate(sqlite::Database& db) {
    struct Column {
      const char* table;
      const char* name;
      const char* decl;
    };
    static constexpr Column kAdded[] = {
        {"domain_settings", "send_per_hour", "INTEGER"},
        {"domain_settings", "allow_any_from", "BOOLEAN NOT NULL DEFAULT 0"},
        {"account_settings", "allow_any_from", "BOOLEAN NOT NULL DEFAULT 0"},
    };
    for (const auto& c : kAdded) {
      bool present = false;
      std::string table(c.table), name(c.name);
      auto q = db.prepare(("SELECT name FROM pragma_table_info('" + table + "')").c_str());
      while (q.step())
        if (q.text(0) == name) present = true;
      if (!q.done()) return db.error("read the " + table + " columns");
      std::string alter = "ALTER TABLE " + table + " ADD COLUMN " + name + " " + c.decl;
      if (!present && !db.exec(alter.c_str())) {
        return db.error("add " + table + "." + name);
      }
    }
    return {};
  }

  // ---- access lists ----
  Result<void> add_access(const std::string& entry, AccessAction action) override {
    auto e = normalize_access_entry(entry);
    if (!e) {
      return make_error(Errc::Invalid, "invalid access entry '" + entry +
                                           "': give an IP or CIDR, a sender address or @domain");
    }
    return exec_write(
        "INSERT INTO access (entry, action) VALUES (?, ?) ON CONFLICT (entry) DO UPDATE SET action = "
        "excluded.action",
        {*e, access_action_name(action)}, "");
  }

  Result<void> remove_access(const std::string& entry) override {
    auto e = normalize_access_entry(entry);
    if (!e) return make_error(Errc::NotFound, "no access entry '" + entry + "'");
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto del = db.prepare("DELETE FROM access WHERE entry = ?");
      del.bind(1, *e);
      if (!del.run()) return db.error("remove access entry");
      if (db.changes() == 0) return make_error(Errc::NotFound, "no access entry '" + *e + "'");
      return {};
    });
  }

  Result<std::vector<AccessEntry>> list_access() override {
    return with_db<std::vector<AccessEntry>>([&](sqlite::Database& db) -> Result<std::vector<AccessEntry>> {
      std::vector<AccessEntry> out;
      auto q = db.cached("SELECT entry, action FROM access ORDER BY entry");
      while (q.step()) {
        out.push_back(AccessEntry{q.text(0), q.text(1) == "permit" ? AccessAction::Permit : AccessAction::Reject});
      }
      if (!q.done()) return db.error("list access entries");
      return out;
    });
  }

  // ---- domains ----
  Result<void> add_domain(const std::string& domain) override {
    std::string d = to_lower(domain);
    if (!is_valid_domain(d, true)) return make_error(Errc::Invalid, "invalid domain name '" + domain + "'");
    return exec_write("INSERT INTO domains (domain) VALUES (?)", {d}, "domain " + d + " already exists");
  }

  Result<void> remove_domain(const std::string& domain) override {
    std::string d = to_lower(domain);
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      // The postmaster alias every domain gets (ensure_postmaster) goes
      // with the domain; anything else must be removed first.
      auto used = db.prepare(
          "SELECT (SELECT COUNT(*) FROM accounts WHERE lower(domain) = ?1) + "
          "(SELECT COUNT(*) FROM aliases WHERE lower(source_domain) = ?1 AND "
          "coalesce(lower(source_username), '') != 'postmaster')");
      used.bind(1, d);
      if (!used.step()) return db.error("remove domain");
      if (used.i64(0) > 0) {
        return make_error(Errc::Exists, "domain " + d + " still has accounts or aliases; remove them first");
      }
      auto exists = domain_exists(db, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      auto pm = db.prepare(
          "DELETE FROM aliases WHERE lower(source_domain) = ? AND lower(source_username) = 'postmaster'");
      pm.bind(1, d);
      if (!pm.run()) return db.error("remove domain");
      auto del = db.prepare("DELETE FROM domains WHERE lower(domain) = ?");
      del.bind(1, d);
      if (!del.run()) return db.error("remove domain");
      auto ds = db.prepare("DELETE FROM domain_settings WHERE domain = ?");
      ds.bind(1, d).step();
      return {};
    });
  }

  Result<std::vector<std::string>> list_domains() override {
    return with_db<std::vector<std::string>>([&](sqlite::Database& db) -> Result<std::vector<std::string>> {
      auto q = db.prepare("SELECT domain FROM domains ORDER BY domain");
      std::vector<std::string> out;
      while (q.step()) out.push_back(q.text(0));
      if (!q.done()) return db.error("list domains");
      return out;
    });
  }

  Result<bool> is_local_domain(const std::string& domain) override {
    return with_db<bool>(
        [&](sqlite::Database& db) -> Result<bool> { return domain_exists(db, to_lower(domain)); });
  }

  Result<bool> requires_tls(const std::string& domain) override {
    return with_db<bool>([&](sqlite::Database& db) -> Result<bool> {
      auto q = db.prepare("SELECT require_tls FROM domain_settings WHERE domain = ?");
      q.bind(1, to_lower(domain));
      if (q.step()) return q.i64(0) != 0;
      if (q.done()) return false;
      return db.error("domain settings");
    });
  }

  Result<void> set_requires_tls(const std::string& domain, bool required) override {
    return set_domain_setting(domain, "require_tls", required ? 1 : 0);
  }

  Result<std::optional<uint32_t>> domain_send_limit(const std::string& domain) override {
    return with_db<std::optional<uint32_t>>([&](sqlite::Database& db) -> Result<std::optional<uint32_t>> {
      auto q = db.prepare("SELECT send_per_hour FROM domain_settings WHERE domain = ?");
      q.bind(1, to_lower(domain));
      return optional_count(db, q, "domain settings");
    });
  }

  Result<void> set_domain_send_limit(const std::string& domain, std::optional<uint32_t> per_hour) override {
    return set_domain_setting(domain, "send_per_hour",
                              per_hour ? std::optional<int64_t>(*per_hour) : std::optional<int64_t>());
  }

  Result<std::optional<uint32_t>> send_limit(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return std::optional<uint32_t>();
    return with_db<std::optional<uint32_t>>([&](sqlite::Database& db) -> Result<std::optional<uint32_t>> {
      auto q = db.prepare("SELECT send_per_hour FROM account_settings WHERE address = ?");
      q.bind(1, to_lower(addr->local) + "@" + addr->domain);
      return optional_count(db, q, "account settings");
    });
  }

  Result<void> set_send_limit(const std::string& account_address, std::optional<uint32_t> per_hour) override {
    return set_account_setting(account_address, "send_per_hour",
                               per_hour ? std::optional<int64_t>(*per_hour) : std::optional<int64_t>());
  }

  Result<bool> allows_any_from(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return false;
    return with_db<bool>([&](sqlite::Database& db) -> Result<bool> {
      auto q = db.prepare(
          "SELECT coalesce((SELECT allow_any_from FROM account_settings WHERE address = ?1), 0) OR "
          "coalesce((SELECT allow_any_from FROM domain_settings WHERE domain = ?2), 0)");
      q.bind(1, to_lower(addr->local) + "@" + addr->domain).bind(2, addr->domain);
      if (!q.step()) return db.error("account settings");
      return q.i64(0) != 0;
    });
  }

  Result<void> set_allow_any_from(const std::string& account_address, bool allowed) override {
    return set_account_setting(account_address, "allow_any_from", allowed ? 1 : 0);
  }

  Result<bool> domain_allows_any_from(const std::string& domain) override {
    return with_db<bool>([&](sqlite::Database& db) -> Result<bool> {
      auto q = db.prepare("SELECT allow_any_from FROM domain_settings WHERE domain = ?");
      q.bind(1, to_lower(domain));
      if (q.step()) return q.i64(0) != 0;
      if (q.done()) return false;
      return db.error("domain settings");
    });
  }

  Result<void> set_domain_allow_any_from(const std::string& domain, bool allowed) override {
    return set_domain_setting(domain, "allow_any_from", allowed ? 1 : 0);
  }

  // ---- accounts ----
  Result<void> add_account(const Account& a, const std::string& password) override {
    auto addr = parse_new_address(a.address());
    if (!addr) return addr.error();
    std::string user = to_lower(addr->local), dom = addr->domain;
    if (auto weak = password_weakness(password, user); !weak.empty()) {
      return make_error(Errc::WeakPassword, weak);
    }
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto exists = domain_exists(db, dom);
      if (!exists) return exists.error();
      if (!exists.value())
        return make_error(Errc::NotFound, "domain " + dom + " does not exist; add it first");
      // Aliases are looked up before accounts: the new account would get no mail.
      auto targets = alias_targets(db, user, dom, false);
      if (!targets) return targets.error();
      if (!targets->empty()) {
        const auto& [du, dd] = targets->front();
        return make_error(Errc::Exists, user + "@" + dom + " is an alias (-> " + du + "@" + dd +
                                            "); remove it first: mailfort alias remove " + user + "@" + dom +
                                            " " + du + "@" + dd);
      }
      auto q = db.prepare(
          "INSERT INTO accounts (username, domain, password, quota, enabled, sendonly) VALUES (?, ?, ?, "
          "?, ?, ?)");
      q.bind(1, user).bind(2, dom).bind(3, hash.value()).bind(4, static_cast<int64_t>(a.quota_mb));
      q.bind(5, a.enabled ? 1 : 0).bind(6, a.send_only ? 1 : 0);
      if (!q.run()) {
        Error e = q.error("add account");
        if (e.code == Errc::Exists)
          return make_error(Errc::Exists, "account " + user + "@" + dom + " already exists");
        return e;
      }
      return {};
    });
  }

  Result<void> set_password(const std::string& address, const std::string& password) override {
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    if (auto weak = password_weakness(password, addr->local); !weak.empty()) {
      return make_error(Errc::WeakPassword, weak);
    }
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return update_account("UPDATE accounts SET password = ? WHERE lower(username) = ? AND lower(domain) = ?",
                          hash.value(), *addr);
  }

  Result<void> set_enabled(const std::string& address, bool enabled) override {
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    return update_account("UPDATE accounts SET enabled = ? WHERE lower(username) = ? AND lower(domain) = ?",
                          enabled ? "1" : "0", *addr);
  }

  Result<void> remove_account(const std::string& address) override {
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto q = db.prepare("DELETE FROM accounts WHERE lower(username) = ? AND lower(domain) = ?");
      q.bind(1, to_lower(addr->local)).bind(2, addr->domain);
      if (!q.run()) return db.error("remove account");
      if (db.changes() == 0) return make_error(Errc::NotFound, "account " + address + " does not exist");
      // A later account of the same name starts with the defaults.
      auto settings = db.prepare("DELETE FROM account_settings WHERE address = ?");
      settings.bind(1, to_lower(addr->local) + "@" + addr->domain).step();
      return {};
    });
  }

  Result<std::optional<Account>> find_account(const std::string& address) override {
    auto addr = parse_address(address);
    if (!addr) return std::optional<Account>();
    return with_db<std::optional<Account>>(
        [&](sqlite::Database& db) { return find_account_in(db, to_lower(addr->local), addr->domain); });
  }

  Result<std::vector<Account>> list_accounts(const std::string& domain) override {
    return with_db<std::vector<Account>>([&](sqlite::Database& db) -> Result<std::vector<Account>> {
      auto q = db.prepare(
          "SELECT username, domain, password, quota, enabled, sendonly FROM accounts "
          "WHERE ?1 = '' OR lower(domain) = ?1 ORDER BY domain, username");
      q.bind(1, to_lower(domain));
      std::vector<Account> out;
      while (q.step()) out.push_back(row_to_account(q));
      if (!q.done()) return db.error("list accounts");
      return out;
    });
  }

  // ---- aliases ----
  Result<void> add_alias(const std::string& source, const std::string& destination,
                         bool allow_shadowing) override {
    auto src = parse_alias_source(source, true);
    if (!src) return src.error();
    auto dst = parse_address(destination);
    if (!dst) return make_error(Errc::Invalid, "invalid destination '" + destination + "'");
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto exists = domain_exists(db, src->domain);
      if (!exists) return exists.error();
      if (!exists.value())
        return make_error(Errc::NotFound, "domain " + src->domain + " is not a local domain");
      if (!src->local.empty() && !allow_shadowing) {
        if (auto r = check_shadowing(db, to_lower(src->local), src->domain, *dst); !r) return r;
      }
      auto q = db.prepare(
          "INSERT INTO aliases (source_username, source_domain, destination_username, destination_domain, "
          "enabled) VALUES (?, ?, ?, ?, 1)");
      if (src->local.empty()) {
        q.bind_null(1);
        // UNIQUE does not see NULLs as equal: check catch-all duplicates here.
        auto dup = db.prepare(
            "SELECT 1 FROM aliases WHERE (source_username IS NULL OR source_username = '') AND "
            "lower(source_domain) = ? AND lower(destination_username) = ? AND lower(destination_domain) = ?");
        dup.bind(1, src->domain).bind(2, to_lower(dst->local)).bind(3, dst->domain);
        if (dup.step()) return make_error(Errc::Exists, "alias already exists");
      } else {
        q.bind(1, to_lower(src->local));
      }
      q.bind(2, src->domain).bind(3, to_lower(dst->local)).bind(4, dst->domain);
      if (!q.run()) {
        Error e = q.error("add alias");
        if (e.code == Errc::Exists) return make_error(Errc::Exists, "alias already exists");
        return e;
      }
      return {};
    });
  }

  Result<void> remove_alias(const std::string& source, const std::string& destination) override {
    auto src = parse_alias_source(source);
    if (!src) return src.error();
    auto dst = parse_address(destination);
    if (!dst) return make_error(Errc::Invalid, "invalid destination '" + destination + "'");
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto q = db.prepare(
          "DELETE FROM aliases WHERE coalesce(lower(source_username), '') = ? AND lower(source_domain) = "
          "? AND "
          "lower(destination_username) = ? AND lower(destination_domain) = ?");
      q.bind(1, to_lower(src->local)).bind(2, src->domain).bind(3, to_lower(dst->local)).bind(4, dst->domain);
      if (!q.run()) return db.error("remove alias");
      if (db.changes() == 0) return make_error(Errc::NotFound, "no such alias");
      return {};
    });
  }

  Result<std::vector<Alias>> list_aliases(const std::string& domain) override {
    return with_db<std::vector<Alias>>([&](sqlite::Database& db) -> Result<std::vector<Alias>> {
      auto q = db.prepare(
          "SELECT coalesce(source_username, ''), source_domain, destination_username, destination_domain, "
          "enabled FROM aliases WHERE ?1 = '' OR lower(source_domain) = ?1 "
          "ORDER BY source_domain, source_username, destination_domain, destination_username");
      q.bind(1, to_lower(domain));
      std::vector<Alias> out;
      while (q.step()) {
        out.push_back(Alias{q.text(0), q.text(1), q.text(2), q.text(3), q.i64(4) != 0});
      }
      if (!q.done()) return db.error("list aliases");
      return out;
    });
  }

  // ---- TLS policies ----
  Result<void> set_tls_policy(const TlsPolicy& p) override {
    std::string d = to_lower(p.domain);
    if (!is_valid_domain(d, true)) return make_error(Errc::Invalid, "invalid domain name '" + p.domain + "'");
    if (!is_valid_tls_policy(p.policy)) {
      return make_error(Errc::Invalid, "unknown policy '" + p.policy +
                                           "' (none may encrypt dane dane-only fingerprint verify secure)");
    }
    if (p.policy == "fingerprint" && p.params.find("match=") == std::string::npos) {
      return make_error(Errc::Invalid, "policy fingerprint needs params match=<sha256 digest>");
    }
    return exec_write("INSERT OR REPLACE INTO tlspolicies (domain, policy, params) VALUES (?, ?, ?)",
                      {d, p.policy, p.params}, "");
  }

  Result<void> remove_tls_policy(const std::string& domain) override {
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto q = db.prepare("DELETE FROM tlspolicies WHERE lower(domain) = ?");
      q.bind(1, to_lower(domain));
      if (!q.run()) return db.error("remove tls policy");
      if (db.changes() == 0) return make_error(Errc::NotFound, "no tls policy for " + domain);
      return {};
    });
  }

  Result<std::vector<TlsPolicy>> list_tls_policies() override {
    return with_db<std::vector<TlsPolicy>>([&](sqlite::Database& db) -> Result<std::vector<TlsPolicy>> {
      auto q = db.prepare("SELECT domain, policy, coalesce(params, '') FROM tlspolicies ORDER BY domain");
      std::vector<TlsPolicy> out;
      while (q.step()) out.push_back(TlsPolicy{q.text(0), q.text(1), q.text(2)});
      if (!q.done()) return db.error("list tls policies");
      return out;
    });
  }

  Result<std::optional<TlsPolicy>> find_tls_policy(const std::string& domain) override {
    return with_db<std::optional<TlsPolicy>>([&](sqlite::Database& db) -> Result<std::optional<TlsPolicy>> {
      auto q =
          db.prepare("SELECT domain, policy, coalesce(params, '') FROM tlspolicies WHERE lower(domain) = ?");
      q.bind(1, to_lower(domain));
      if (q.step()) return std::optional<TlsPolicy>(TlsPolicy{q.text(0), q.text(1), q.text(2)});
      if (!q.done()) return db.error("find tls policy");
      return std::optional<TlsPolicy>();
    });
  }

  // ---- resolution ----
  Result<Resolution> resolve_recipient(const std::string& address) override {
    auto addr = parse_address(address);
    if (!addr) return Resolution{Resolution::Kind::Unknown, {}, {}};
    return with_db<Resolution>([&](sqlite::Database& db) -> Result<Resolution> {
      auto local = domain_exists(db, addr->domain);
      if (!local) return local.error();
      Resolution r;
      if (!local.value()) {
        r.kind = Resolution::Kind::NotLocal;
        return r;
      }
      std::set<std::string> visited;
      auto kind = expand(db, to_lower(addr->local), addr->domain, 0, visited, r, true);
      if (!kind) return kind.error();
      r.kind = kind.value();
      if (r.kind == Resolution::Kind::Deliver && r.mailboxes.empty() && r.forwards.empty()) {
        r.kind = Resolution::Kind::Unknown;
      }
      return r;
    });
  }

  Result<AuthResult> authenticate(const std::string& login, const std::string& password) override {
    // Verifying against a fixed hash when the account is unknown keeps the
    // answer time the same, so timing does not reveal which accounts exist.
    static const std::string dummy = hash_password("timing-equaliser-not-a-password").value();
    auto addr = parse_address(login);
    if (!addr || password.empty()) {
      verify_password(password, dummy);
      return AuthResult{};
    }
    auto found = with_db<std::optional<Account>>(
        [&](sqlite::Database& db) { return find_account_in(db, to_lower(addr->local), addr->domain); });
    if (!found) return found.error();
    if (!found.value()) {
      verify_password(password, dummy);
      return AuthResult{};
    }
    const Account& a = *found.value();
    bool ok = verify_password(password, a.password_hash);
    if (!ok || !a.enabled) return AuthResult{};
    return AuthResult{true, a};
  }

  Result<std::optional<std::string>> ensure_postmaster(const std::string& domain) override {
    std::string d = to_lower(domain);
    return with_db<std::optional<std::string>>([&](sqlite::Database& db)
                                                   -> Result<std::optional<std::string>> {
      auto exists = domain_exists(db, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      auto acct = find_account_in(db, "postmaster", d);
      if (!acct) return acct.error();
      auto aliases = alias_targets(db, "postmaster", d, false);
      if (!aliases) return aliases.error();
      if (acct.value() || !aliases->empty()) return std::optional<std::string>();
      auto target = first_account(db, d);
      if (!target) return target.error();
      if (!target.value()) target = first_account(db, "");
      if (!target) return target.error();
      if (!target.value()) return std::optional<std::string>();
      auto at = target.value()->rfind('@');
      auto q = db.prepare(
          "INSERT INTO aliases (source_username, source_domain, destination_username, destination_domain, "
          "enabled) VALUES ('postmaster', ?, ?, ?, 1)");
      q.bind(1, d).bind(2, target.value()->substr(0, at)).bind(3, target.value()->substr(at + 1));
      if (!q.run()) return db.error("add alias");
      return target;
    });
  }

  Result<std::vector<std::string>> sender_addresses(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return make_error(Errc::Invalid, "invalid address");
    std::string user = to_lower(addr->local);
    return with_db<std::vector<std::string>>([&](sqlite::Database& db) -> Result<std::vector<std::string>> {
      std::vector<std::string> out{user + "@" + addr->domain};
      auto q = db.prepare(
          "SELECT coalesce(source_username, ''), source_domain FROM aliases WHERE enabled = 1 AND "
          "lower(destination_username) = ? AND lower(destination_domain) = ? ORDER BY id");
      q.bind(1, user).bind(2, addr->domain);
      while (q.step()) {
        std::string s = to_lower(q.text(0)) + "@" + to_lower(q.text(1));
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
      }
      if (!q.done()) return db.error("sender addresses");
      return out;
    });
  }

 private:
  // Alias expansion: first the exact address (with +tag, then without),
  // then the account, then the domain's catch-all.
  Result<Resolution::Kind> expand(sqlite::Database& db, const std::string& local, const std::string& domain,
                                  int depth, std::set<std::string>& visited, Resolution& r, bool top) {
    std::string key = local + "@" + domain;
    if (depth > kMaxAliasDepth || !visited.insert(key).second) return Resolution::Kind::Deliver;
    std::vector<std::string> candidates{local};
    auto plus = local.find('+');
    if (plus != std::string::npos && plus > 0) candidates.push_back(local.substr(0, plus));
    for (const auto& cand : candidates) {
      auto dests = alias_targets(db, cand, domain, false);
      if (!dests) return dests.error();
      if (!dests->empty()) {
        for (const auto& [du, dd] : dests.value()) {
          auto r2 = follow(db, du, dd, depth, visited, r);
          if (!r2) return r2.error();
        }
        return Resolution::Kind::Deliver;
      }
      auto acct = find_account_in(db, cand, domain);
      if (!acct) return acct.error();
      if (acct.value()) {
        const Account& a = *acct.value();
        if (!a.enabled) return top ? Resolution::Kind::Disabled : Resolution::Kind::Deliver;
        if (a.send_only) return top ? Resolution::Kind::SendOnly : Resolution::Kind::Deliver;
        std::string mb = a.username + "@" + a.domain;
        if (std::find(r.mailboxes.begin(), r.mailboxes.end(), mb) == r.mailboxes.end())
          r.mailboxes.push_back(mb);
        return Resolution::Kind::Deliver;
      }
    }
    auto catch_all = alias_targets(db, "", domain, true);
    if (!catch_all) return catch_all.error();
    if (catch_all->empty()) return Resolution::Kind::Unknown;
    for (const auto& [du, dd] : catch_all.value()) {
      auto r2 = follow(db, du, dd, depth, visited, r);
      if (!r2) return r2.error();
    }
    return Resolution::Kind::Deliver;
  }

  // One alias destination: local -> expand again (an alias naming itself
  // delivers to its own account), remote -> forward.
  Result<void> follow(sqlite::Database& db, const std::string& du, const std::string& dd, int depth,
                      std::set<std::string>& visited, Resolution& r) {
    std::string dest = to_lower(du) + "@" + to_lower(dd);
    auto local = domain_exists(db, to_lower(dd));
    if (!local) return local.error();
    if (!local.value()) {
      if (std::find(r.forwards.begin(), r.forwards.end(), dest) == r.forwards.end())
        r.forwards.push_back(dest);
      return {};
    }
    if (visited.count(dest)) {
      // Self-reference ("keep a copy"): deliver to the account, no recursion.
      auto acct = find_account_in(db, to_lower(du), to_lower(dd));
      if (!acct) return acct.error();
      if (acct.value() && acct.value()->enabled && !acct.value()->send_only &&
          std::find(r.mailboxes.begin(), r.mailboxes.end(), dest) == r.mailboxes.end()) {
        r.mailboxes.push_back(dest);
      }
      return {};
    }
    auto k = expand(db, to_lower(du), to_lower(dd), depth + 1, visited, r, false);
    if (!k) return k.error();
    return {};
  }

  Result<std::vector<std::pair<std::string, std::string>>> alias_targets(sqlite::Database& db,
                                                                         const std::string& local,
                                                                         const std::string& domain,
                                                                         bool catch_all) {
    auto q = db.prepare(
        catch_all ? "SELECT destination_username, destination_domain FROM aliases WHERE enabled = 1 AND "
                    "(source_username IS NULL OR source_username = '') AND lower(source_domain) = ?2 "
                    "ORDER BY id"
                  : "SELECT destination_username, destination_domain FROM aliases WHERE enabled = 1 AND "
                    "lower(source_username) = ?1 AND lower(source_domain) = ?2 ORDER BY id");
    q.bind(1, local).bind(2, domain);
    std::vector<std::pair<std::string, std::string>> out;
    while (q.step()) out.emplace_back(q.text(0), q.text(1));
    if (!q.done()) return db.error("aliases");
    return out;
  }

  static Account row_to_account(const Statement& q) {
    Account a;
    a.username = to_lower(q.text(0));
    a.domain = to_lower(q.text(1));
    a.password_hash = q.text(2);
    a.quota_mb = static_cast<uint64_t>(std::max<int64_t>(0, q.i64(3)));
    a.enabled = q.i64(4) != 0;
    a.send_only = q.i64(5) != 0;
    return a;
  }

  Result<std::optional<Account>> find_account_in(sqlite::Database& db, const std::string& user,
                                                 const std::string& domain) {
    auto q = db.prepare(
        "SELECT username, domain, password, quota, enabled, sendonly FROM accounts "
        "WHERE lower(username) = ? AND lower(domain) = ?");
    q.bind(1, user).bind(2, domain);
    if (q.step()) return std::optional<Account>(row_to_account(q));
    if (!q.done()) return db.error("find account");
    return std::optional<Account>();
  }

  // One row with a nullable count, or no row: nullopt.
  static Result<std::optional<uint32_t>> optional_count(sqlite::Database& db, Statement& q,
                                                        const std::string& what) {
    bool row = q.step();
    if (!row && !q.done()) return db.error(what);
    if (!row || q.is_null(0)) return std::optional<uint32_t>();
    int64_t v = q.i64(0);
    return std::optional<uint32_t>(static_cast<uint32_t>(std::clamp<int64_t>(v, 0, UINT32_MAX)));
  }

  // One column of the domain's domain_settings row (created when missing;
  // the other columns keep their values). nullopt stores NULL. `column` is
  // one of our literals, never input.
  Result<void> set_domain_setting(const std::string& domain, const char* column,
                                  std::optional<int64_t> value) {
    std::string d = to_lower(domain);
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto exists = domain_exists(db, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      std::string col(column);
      std::string sql = "INSERT INTO domain_settings (domain, " + col +
                        ") VALUES (?, ?) ON CONFLICT (domain) DO UPDATE SET " + col + " = excluded." + col;
      auto q = db.prepare(sql.c_str());
      q.bind(1, d);
      if (value)
        q.bind(2, *value);
      else
        q.bind_null(2);
      if (!q.run()) return db.error("domain settings");
      return {};
    });
  }

  Result<bool> domain_exists(sqlite::Database& db, const std::string& domain) {
    auto q = db.prepare("SELECT 1 FROM domains WHERE lower(domain) = ?");
    q.bind(1, domain);
    if (q.step()) return true;
    if (q.done()) return false;
    return db.error("domains");
  }

  // `strict` for new aliases (parse_new_address); removal accepts whatever
  // an older version or an imported database stored.
  Result<Address> parse_alias_source(const std::string& source, bool strict = false) {
    if (!source.empty() && source.front() == '@') {
      std::string d = to_lower(source.substr(1));
      if (!is_valid_domain(d, true)) return make_error(Errc::Invalid, "invalid catch-all '" + source + "'");
      return Address{"", d};
    }
    if (strict) return parse_new_address(source);
    auto a = parse_address(source);
    if (!a) return make_error(Errc::Invalid, "invalid source '" + source + "'");
    return a;
  }

  // An alias whose source is an account takes all its mail, unless the
  // account keeps a copy (source -> itself, now or already).
  Result<void> check_shadowing(sqlite::Database& db, const std::string& user, const std::string& domain,
                               const Address& dst) {
    auto acct = find_account_in(db, user, domain);
    if (!acct) return acct.error();
    if (!acct.value()) return {};
    std::string self = user + "@" + domain;
    if (to_lower(dst.local) + "@" + dst.domain == self) return {};
    auto targets = alias_targets(db, user, domain, false);
    if (!targets) return targets.error();
    for (const auto& [du, dd] : targets.value())
      if (to_lower(du) + "@" + to_lower(dd) == self) return {};
    return make_error(Errc::Exists, self +
                                        " is an account: an alias with that source would take all its mail. "
                                        "To forward and keep a copy, first add: mailfort alias add " +
                                        self + " " + self + "; to redirect anyway, add --force");
  }

  // The first enabled receiving account of `domain` ("" = of the instance).
  Result<std::optional<std::string>> first_account(sqlite::Database& db, const std::string& domain) {
    auto q = db.prepare(
        "SELECT username, domain FROM accounts WHERE enabled = 1 AND sendonly = 0 AND "
        "(?1 = '' OR lower(domain) = ?1) ORDER BY id LIMIT 1");
    q.bind(1, domain);
    if (q.step()) return std::optional<std::string>(to_lower(q.text(0)) + "@" + to_lower(q.text(1)));
    if (!q.done()) return db.error("find account");
    return std::optional<std::string>();
  }

  // One column of the account's account_settings row (created when missing;
  // the other columns keep their values). nullopt stores NULL. `column` is
  // one of our literals, never input.
  Result<void> set_account_setting(const std::string& account_address, const char* column,
                                   std::optional<int64_t> value) {
    auto addr = parse_address(account_address);
    if (!addr) return addr.error();
    std::string user = to_lower(addr->local);
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto acct = find_account_in(db, user, addr->domain);
      if (!acct) return acct.error();
      if (!acct.value()) return make_error(Errc::NotFound, "account " + addr->str() + " does not exist");
      std::string col(column);
      std::string sql = "INSERT INTO account_settings (address, " + col +
                        ") VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET " + col + " = excluded." + col;
      auto q = db.prepare(sql.c_str());
      q.bind(1, user + "@" + addr->domain);
      if (value)
        q.bind(2, *value);
      else
        q.bind_null(2);
      if (!q.run()) return db.error("account settings");
      return {};
    });
  }

  Result<void> update_account(const char* sql, const std::string& value, const Address& addr) {
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto q = db.prepare(sql);
      q.bind(1, value).bind(2, to_lower(addr.local)).bind(3, addr.domain);
      if (!q.run()) return db.error("update account");
      if (db.changes() == 0) return make_error(Errc::NotFound, "account " + addr.str() + " does not exist");
      return {};
    });
  }

  Result<void> exec_write(const char* sql, const std::vector<std::string>& args,
                          const std::string& exists_msg) {
    return with_db<void>([&](sqlite::Database& db) -> Result<void> {
      auto q = db.prepare(sql);
      for (std::size_t i = 0; i < args.size(); ++i) q.bind(static_cast<int>(i + 1), args[i]);
      if (!q.run()) {
        Error e = q.error("write");
        if (e.code == Errc::Exists && !exists_msg.empty()) return make_error(Errc::Exists, exists_msg);
        return e;
      }
      return {};
    });
  }

  template <class T, class F>
  Result<T> with_db(F&& fn) {
    auto c = acquire();
    if (!c) return c.error();
    Result<T> r = fn(c.value());
    release(std::move(c).value());
    return r;
  }

  Result<sqlite::Database> acquire() {
    {
      std::lock_guard lock(mu_);
      if (!pool_.empty()) {
        sqlite::Database db = std::move(pool_.back());
        pool_.pop_back();
        return db;
      }
    }
    auto db = sqlite::Database::open(path_, {});
    if (!db) return make_error(db.error().code, "cannot open " + path_ + ": " + db.error().message);
    (void)db->exec("PRAGMA foreign_keys=ON;");
    return db;
  }

  void release(sqlite::Database db) {
    std::lock_guard lock(mu_);
    if (pool_.size() < kMaxPool) pool_.push_back(std::move(db));
  }

  std::string path_;
  std::mutex mu_;
  std::vector<sqlite::Database> pool_;
};

}  // namespace

bool is_valid_tls_policy(std::string_view p) {
  static const char* kPolicies[] = {"none",      "may",         "encrypt", "dane",
                                    "dane-only", "fingerprint", "verify",  "secure"};
  return std::any_of(std::begin(kPolicies), std::end(kPolicies), [&](const char* k) { return p == k; });
}

Result<Address> parse_address(std::string_view s) {
  auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= s.size()) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
  }
  std::string_view local = s.substr(0, at);
  std::string domain = to_lower(s.substr(at + 1));
  if (local.size() > 64) return make_error(Errc::Invalid, "local part too long");
  for (unsigned char c : local) {
    if (c < 0x20 || c == 0x7F || c == ' ' || c == '/') {
      return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
    }
  }
  if (local.front() == '.' || !is_valid_domain(domain, true)) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "'");
  }
  return Address{std::string(local), domain};
}

namespace {

// Valid UTF-8 without overlong forms, surrogates or C1 controls.
bool valid_utf8_text(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC2 ? 1 : 0;
    if (n == 0 || c > 0xF4 || i + n >= s.size()) return false;
    uint32_t cp = c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0xA0)
      return false;
    i += n + 1;
  }
  return true;
}

bool is_local_atext(unsigned char c) {
  if (std::isalnum(c) || c >= 0x80) return true;
  return std::string_view("!#$%&'*+-=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

Result<Address> parse_new_address(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::Invalid, "invalid address '" + std::string(s) + "': " + why);
  };
  auto at = s.find('@');
  if (at == std::string_view::npos) return bad("no '@'");
  if (s.find('@', at + 1) != std::string_view::npos) return bad("more than one '@'");
  std::string_view local = s.substr(0, at);
  std::string domain = to_lower(s.substr(at + 1));
  if (local.empty()) return bad("empty local part");
  if (local.size() > 64) return bad("local part longer than 64 octets");
  for (unsigned char c : local) {
    if (c == '.') continue;
    if (!is_local_atext(c)) {
      return bad(std::string("the local part may hold letters, digits, dots and ") +
                 "!#$%&'*+-=?^_`{|}~ (no quotes, spaces, backslashes or '/')");
    }
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return bad("the local part may not start or end with a dot or hold two in a row");
  if (!valid_utf8_text(local)) return bad("the local part is not valid UTF-8");
  if (!is_valid_domain(domain, true) || !valid_utf8_text(domain)) return bad("the domain is not a host name");
  return Address{std::string(local), domain};
}

Result<std::unique_ptr<Directory>> open_sqlite(const std::string& path) {
  auto dir = std::make_unique<SqliteDirectory>(path);
  if (auto r = dir->init(); !r) return r.error();
  return std::unique_ptr<Directory>(std::move(dir));
}

}  // namespace mailfort::directory
