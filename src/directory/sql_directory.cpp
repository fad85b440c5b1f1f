// The Directory on any SQL engine (SQLite, MariaDB/MySQL, PostgreSQL) over
// sql::Pool, on the guide's vmail schema (column names and meanings
// unchanged) or on the statements of [directory.queries].
//
// Portable SQL only: every value bound as a :named parameter; flags written
// as 1/0 and read accepting 1/t/true; names compared as LOWER(column) =
// a value lower-cased here; no LIKE; the upsert spelled per dialect.
#include <algorithm>
#include <cctype>
#include <set>

#include "base/text.h"
#include "directory/directory.h"
#include "directory/open.h"
#include "directory/password.h"

namespace mailfort::directory {
namespace {

using sql::Connection;
using sql::Dialect;
using sql::Params;
using sql::Row;
using sql::Value;

constexpr int kMaxAliasDepth = 10;
constexpr std::size_t kSqlitePoolSize = 8;
constexpr const char* kOwnQueries =
    "the directory uses its own queries ([directory.queries]): change accounts with the tool that owns "
    "the schema";

using Target = std::pair<std::string, std::string>;  // destination user, domain

std::string text(const Row& row, std::size_t i) {
  return i < row.size() && row[i] ? *row[i] : std::string();
}

bool is_null(const Row& row, std::size_t i) {
  return i >= row.size() || !row[i];
}

// A flag as any engine returns it: 1/0 (SQLite, MySQL), t/f (PostgreSQL),
// true/false; other numbers count as set when not zero.
bool flag(const Row& row, std::size_t i, bool absent = false) {
  if (i >= row.size()) return absent;
  if (!row[i]) return false;
  std::string v = to_lower(*row[i]);
  if (v == "1" || v == "t" || v == "true" || v == "y" || v == "yes" || v == "on") return true;
  if (v.empty() || v == "0" || v == "f" || v == "false" || v == "n" || v == "no" || v == "off") return false;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  return end && *end == '\0' && d != 0;
}

int64_t number(const Row& row, std::size_t i) {
  std::string v = text(row, i);
  if (v.empty()) return 0;
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  return n;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

Value val(const std::string& s) {
  return Value(s);
}

// A lookup error: whatever went wrong in the database, the caller sees
// Temp (a DB outage or a broken query must never read as "no such user").
Error as_temp(Error e) {
  e.code = Errc::Temp;
  return e;
}

class SqlDirectory : public Directory {
 public:
  SqlDirectory(std::shared_ptr<sql::Pool> pool, config::DirectoryQueries queries)
      : pool_(std::move(pool)), q_(std::move(queries)), dialect_(pool_->dialect()) {}

  // ---- access lists ----
  Result<void> add_access(const std::string& entry, AccessAction action) override {
    auto e = normalize_access_entry(entry);
    if (!e) {
      return make_error(Errc::Invalid, "invalid access entry '" + entry +
                                           "': give an IP or CIDR, a sender address or @domain");
    }
    return write([&](Connection& c) -> Result<void> {
      auto r = c.execute(upsert("mailfort_access", "entry", "action"),
                         {{"key", *e}, {"value", std::string(access_action_name(action))}});
      if (!r) return r.error();
      return {};
    });
  }

  Result<void> remove_access(const std::string& entry) override {
    auto e = normalize_access_entry(entry);
    if (!e) return make_error(Errc::NotFound, "no access entry '" + entry + "'");
    return write([&](Connection& c) -> Result<void> {
      auto n = c.execute("DELETE FROM mailfort_access WHERE entry = :entry", {{"entry", *e}});
      if (!n) return n.error();
      if (n.value() == 0) return make_error(Errc::NotFound, "no access entry '" + *e + "'");
      return {};
    });
  }

  Result<std::vector<AccessEntry>> list_access() override {
    return setting<std::vector<AccessEntry>>(
        [&](Connection& c) -> Result<std::vector<AccessEntry>> {
          auto rows = c.query("SELECT entry, action FROM mailfort_access ORDER BY entry", {});
          if (!rows) return rows.error();
          std::vector<AccessEntry> out;
          for (const auto& row : rows.value())
            out.push_back(AccessEntry{
                text(row, 0), text(row, 1) == "permit" ? AccessAction::Permit : AccessAction::Reject});
          return out;
        },
        {});
  }

  // ---- domains ----
  Result<void> add_domain(const std::string& domain) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    std::string d = to_lower(domain);
    if (!is_valid_domain(d, true)) return make_error(Errc::Invalid, "invalid domain name '" + domain + "'");
    return write([&](Connection& c) -> Result<void> {
      auto r = c.execute("INSERT INTO domains (domain) VALUES (:domain)", {{"domain", d}});
      if (!r && r.error().code == Errc::Exists)
        return make_error(Errc::Exists, "domain " + d + " already exists");
      if (!r) return r.error();
      return {};
    });
  }

  Result<void> remove_domain(const std::string& domain) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    std::string d = to_lower(domain);
    return write([&](Connection& c) -> Result<void> {
      // The postmaster alias every domain gets (ensure_postmaster) goes
      // with the domain; anything else must be removed first.
      auto used = c.query(
          "SELECT (SELECT COUNT(*) FROM accounts WHERE LOWER(domain) = :domain) + "
          "(SELECT COUNT(*) FROM aliases WHERE LOWER(source_domain) = :domain AND "
          "COALESCE(LOWER(source_username), '') <> 'postmaster')",
          {{"domain", d}});
      if (!used) return used.error();
      if (!used->empty() && number(used->front(), 0) > 0) {
        return make_error(Errc::Exists, "domain " + d + " still has accounts or aliases; remove them first");
      }
      auto exists = domain_exists(c, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      for (const char* sql : {"DELETE FROM aliases WHERE LOWER(source_domain) = :domain AND "
                              "LOWER(source_username) = 'postmaster'",
                              "DELETE FROM domains WHERE LOWER(domain) = :domain",
                              "DELETE FROM mailfort_domain_settings WHERE domain = :domain"}) {
        auto r = c.execute(sql, {{"domain", d}});
        if (!r) return make_error(r.error().code, "remove domain: " + r.error().message);
      }
      return {};
    });
  }

  Result<std::vector<std::string>> list_domains() override {
    return read<std::vector<std::string>>([&](Connection& c) -> Result<std::vector<std::string>> {
      auto rows = c.query("SELECT domain FROM domains ORDER BY domain", {});
      if (!rows) return rows.error();
      std::vector<std::string> out;
      for (const auto& row : rows.value()) out.push_back(text(row, 0));
      return out;
    });
  }

  Result<bool> is_local_domain(const std::string& domain) override {
    return read<bool>([&](Connection& c) { return domain_exists(c, to_lower(domain)); });
  }

  // ---- settings (mailfort_* tables; a server database without them, not
  // yet given `init-schema`, reads as "nothing set") ----
  Result<bool> requires_tls(const std::string& domain) override {
    return setting<bool>(
        [&](Connection& c) -> Result<bool> {
          auto rows = c.query("SELECT require_tls FROM mailfort_domain_settings WHERE domain = :domain",
                              {{"domain", to_lower(domain)}});
          if (!rows) return rows.error();
          return !rows->empty() && flag(rows->front(), 0);
        },
        false);
  }

  Result<void> set_requires_tls(const std::string& domain, bool required) override {
    return set_domain_setting(domain, "require_tls", std::string(required ? "1" : "0"));
  }

  Result<std::optional<uint32_t>> domain_send_limit(const std::string& domain) override {
    return setting<std::optional<uint32_t>>(
        [&](Connection& c) {
          return optional_count(c, "SELECT send_per_hour FROM mailfort_domain_settings WHERE domain = :key",
                                to_lower(domain));
        },
        std::nullopt);
  }

  Result<void> set_domain_send_limit(const std::string& domain, std::optional<uint32_t> per_hour) override {
    return set_domain_setting(domain, "send_per_hour", per_hour ? Value(std::to_string(*per_hour)) : Value());
  }

  Result<std::optional<uint32_t>> send_limit(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return std::optional<uint32_t>();
    return setting<std::optional<uint32_t>>(
        [&](Connection& c) {
          return optional_count(c, "SELECT send_per_hour FROM mailfort_account_settings WHERE address = :key",
                                to_lower(addr->local) + "@" + addr->domain);
        },
        std::nullopt);
  }

  Result<void> set_send_limit(const std::string& account_address, std::optional<uint32_t> per_hour) override {
    return set_account_setting(account_address, "send_per_hour",
                               per_hour ? Value(std::to_string(*per_hour)) : Value());
  }

  Result<bool> allows_any_from(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return false;
    return setting<bool>(
        [&](Connection& c) -> Result<bool> {
          auto acct = c.query("SELECT allow_any_from FROM mailfort_account_settings WHERE address = :address",
                              {{"address", to_lower(addr->local) + "@" + addr->domain}});
          if (!acct) return acct.error();
          if (!acct->empty() && flag(acct->front(), 0)) return true;
          auto dom = c.query("SELECT allow_any_from FROM mailfort_domain_settings WHERE domain = :domain",
                             {{"domain", addr->domain}});
          if (!dom) return dom.error();
          return !dom->empty() && flag(dom->front(), 0);
        },
        false);
  }

  Result<void> set_allow_any_from(const std::string& account_address, bool allowed) override {
    return set_account_setting(account_address, "allow_any_from", std::string(allowed ? "1" : "0"));
  }

  Result<bool> domain_allows_any_from(const std::string& domain) override {
    return setting<bool>(
        [&](Connection& c) -> Result<bool> {
          auto rows = c.query("SELECT allow_any_from FROM mailfort_domain_settings WHERE domain = :domain",
                              {{"domain", to_lower(domain)}});
          if (!rows) return rows.error();
          return !rows->empty() && flag(rows->front(), 0);
        },
        false);
  }

  Result<void> set_domain_allow_any_from(const std::string& domain, bool allowed) override {
    return set_domain_setting(domain, "allow_any_from", std::string(allowed ? "1" : "0"));
  }

  // ---- accounts ----
  Result<void> add_account(const Account& a, const std::string& password) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto addr = parse_new_address(a.address());
    if (!addr) return addr.error();
    std::string user = to_lower(addr->local), dom = addr->domain;
    if (auto weak = password_weakness(password, user); !weak.empty()) {
      return make_error(Errc::WeakPassword, weak);
    }
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return write([&](Connection& c) -> Result<void> {
      auto exists = domain_exists(c, dom);
      if (!exists) return exists.error();
      if (!exists.value())
        return make_error(Errc::NotFound, "domain " + dom + " does not exist; add it first");
      // Aliases are looked up before accounts: the new account would get no mail.
      auto targets = alias_targets(c, user, dom, false);
      if (!targets) return targets.error();
      if (!targets->empty()) {
        const auto& [du, dd] = targets->front();
        return make_error(Errc::Exists, user + "@" + dom + " is an alias (-> " + du + "@" + dd +
                                            "); remove it first: mailfort alias remove " + user + "@" + dom +
                                            " " + du + "@" + dd);
      }
      auto r = c.execute(
          "INSERT INTO accounts (username, domain, password, quota, enabled, sendonly) "
          "VALUES (:username, :domain, :password, :quota, :enabled, :sendonly)",
          account_params(user, dom, hash.value(), a));
      if (!r && r.error().code == Errc::Exists)
        return make_error(Errc::Exists, "account " + user + "@" + dom + " already exists");
      if (!r) return make_error(r.error().code, "add account: " + r.error().message);
      return {};
    });
  }

  Result<void> import_account(const Account& a) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto addr = parse_address(a.address());
    if (!addr) return addr.error();
    if (a.password_hash.empty())
      return make_error(Errc::Invalid, "account " + a.address() + " has no password hash");
    std::string user = to_lower(addr->local), dom = addr->domain;
    return write([&](Connection& c) -> Result<void> {
      auto exists = domain_exists(c, dom);
      if (!exists) return exists.error();
      if (!exists.value())
        return make_error(Errc::NotFound, "domain " + dom + " does not exist; add it first");
      std::string sql =
          "INSERT INTO accounts (username, domain, password, quota, enabled, sendonly) "
          "VALUES (:username, :domain, :password, :quota, :enabled, :sendonly) ";
      if (dialect_ == Dialect::MySQL) {
        sql +=
            "ON DUPLICATE KEY UPDATE password = VALUES(password), quota = VALUES(quota), "
            "enabled = VALUES(enabled), sendonly = VALUES(sendonly)";
      } else {
        sql +=
            "ON CONFLICT (username, domain) DO UPDATE SET password = excluded.password, "
            "quota = excluded.quota, enabled = excluded.enabled, sendonly = excluded.sendonly";
      }
      auto r = c.execute(sql, account_params(user, dom, a.password_hash, a));
      if (!r)
        return make_error(r.error().code, "import account " + user + "@" + dom + ": " + r.error().message);
      return {};
    });
  }

  Result<void> set_password(const std::string& address, const std::string& password) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    if (auto weak = password_weakness(password, addr->local); !weak.empty()) {
      return make_error(Errc::WeakPassword, weak);
    }
    auto hash = hash_password(password);
    if (!hash) return hash.error();
    return update_account(
        "UPDATE accounts SET password = :value WHERE LOWER(username) = :username AND LOWER(domain) = :domain",
        hash.value(), *addr);
  }

  Result<void> set_enabled(const std::string& address, bool enabled) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    return update_account(
        "UPDATE accounts SET enabled = :value WHERE LOWER(username) = :username AND LOWER(domain) = :domain",
        enabled ? "1" : "0", *addr);
  }

  Result<void> remove_account(const std::string& address) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto addr = parse_address(address);
    if (!addr) return addr.error();
    std::string user = to_lower(addr->local);
    return write([&](Connection& c) -> Result<void> {
      auto n = c.execute("DELETE FROM accounts WHERE LOWER(username) = :username AND LOWER(domain) = :domain",
                         {{"username", user}, {"domain", addr->domain}});
      if (!n) return make_error(n.error().code, "remove account: " + n.error().message);
      if (n.value() == 0) return make_error(Errc::NotFound, "account " + address + " does not exist");
      // A later account of the same name starts with the defaults.
      (void)c.execute("DELETE FROM mailfort_account_settings WHERE address = :address",
                      {{"address", user + "@" + addr->domain}});
      return {};
    });
  }

  Result<std::optional<Account>> find_account(const std::string& address) override {
    auto addr = parse_address(address);
    if (!addr) return std::optional<Account>();
    return read<std::optional<Account>>(
        [&](Connection& c) { return find_account_in(c, to_lower(addr->local), addr->domain); });
  }

  Result<std::vector<Account>> list_accounts(const std::string& domain) override {
    return read<std::vector<Account>>([&](Connection& c) -> Result<std::vector<Account>> {
      auto rows = c.query(
          "SELECT username, domain, password, quota, enabled, sendonly FROM accounts "
          "WHERE :domain = '' OR LOWER(domain) = :domain ORDER BY domain, username",
          {{"domain", to_lower(domain)}});
      if (!rows) return rows.error();
      std::vector<Account> out;
      for (const auto& row : rows.value()) out.push_back(row_to_account(row, "", ""));
      return out;
    });
  }

  // ---- aliases ----
  Result<void> add_alias(const std::string& source, const std::string& destination,
                         bool allow_shadowing) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto src = parse_alias_source(source, true);
    if (!src) return src.error();
    auto dst = parse_address(destination);
    if (!dst) return make_error(Errc::Invalid, "invalid destination '" + destination + "'");
    std::string su = to_lower(src->local), du = to_lower(dst->local);
    return write([&](Connection& c) -> Result<void> {
      auto exists = domain_exists(c, src->domain);
      if (!exists) return exists.error();
      if (!exists.value())
        return make_error(Errc::NotFound, "domain " + src->domain + " is not a local domain");
      if (!su.empty() && !allow_shadowing) {
        if (auto r = check_shadowing(c, su, src->domain, *dst); !r) return r;
      }
      Params p{{"su", su}, {"sd", src->domain}, {"du", du}, {"dd", dst->domain}, {"on", val("1")}};
      if (su.empty()) {
        // A catch-all is stored with an empty source_username (the guide's
        // column is NOT NULL); older SQLite rows may hold NULL, which
        // UNIQUE does not compare: check duplicates here.
        auto dup = c.query(
            "SELECT 1 FROM aliases WHERE (source_username IS NULL OR source_username = '') AND "
            "LOWER(source_domain) = :sd AND LOWER(destination_username) = :du AND "
            "LOWER(destination_domain) = :dd",
            p);
        if (!dup) return dup.error();
        if (!dup->empty()) return make_error(Errc::Exists, "alias already exists");
      }
      auto r = c.execute(
          "INSERT INTO aliases (source_username, source_domain, destination_username, destination_domain, "
          "enabled) VALUES (:su, :sd, :du, :dd, :on)",
          p);
      if (!r && r.error().code == Errc::Exists) return make_error(Errc::Exists, "alias already exists");
      if (!r) return make_error(r.error().code, "add alias: " + r.error().message);
      return {};
    });
  }

  Result<void> remove_alias(const std::string& source, const std::string& destination) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    auto src = parse_alias_source(source);
    if (!src) return src.error();
    auto dst = parse_address(destination);
    if (!dst) return make_error(Errc::Invalid, "invalid destination '" + destination + "'");
    return write([&](Connection& c) -> Result<void> {
      auto n = c.execute(
          "DELETE FROM aliases WHERE COALESCE(LOWER(source_username), '') = :su AND LOWER(source_domain) = "
          ":sd "
          "AND LOWER(destination_username) = :du AND LOWER(destination_domain) = :dd",
          {{"su", to_lower(src->local)},
           {"sd", src->domain},
           {"du", to_lower(dst->local)},
           {"dd", dst->domain}});
      if (!n) return make_error(n.error().code, "remove alias: " + n.error().message);
      if (n.value() == 0) return make_error(Errc::NotFound, "no such alias");
      return {};
    });
  }

  Result<std::vector<Alias>> list_aliases(const std::string& domain) override {
    return read<std::vector<Alias>>([&](Connection& c) -> Result<std::vector<Alias>> {
      auto rows = c.query(
          "SELECT COALESCE(source_username, ''), source_domain, destination_username, destination_domain, "
          "enabled FROM aliases WHERE :domain = '' OR LOWER(source_domain) = :domain "
          "ORDER BY source_domain, source_username, destination_domain, destination_username",
          {{"domain", to_lower(domain)}});
      if (!rows) return rows.error();
      std::vector<Alias> out;
      for (const auto& row : rows.value())
        out.push_back(Alias{text(row, 0), text(row, 1), text(row, 2), text(row, 3), flag(row, 4)});
      return out;
    });
  }

  // ---- TLS policies ----
  Result<void> set_tls_policy(const TlsPolicy& p) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    std::string d = to_lower(p.domain);
    if (!is_valid_domain(d, true)) return make_error(Errc::Invalid, "invalid domain name '" + p.domain + "'");
    if (!is_valid_tls_policy(p.policy)) {
      return make_error(Errc::Invalid, "unknown policy '" + p.policy +
                                           "' (none may encrypt dane dane-only fingerprint verify secure)");
    }
    if (p.policy == "fingerprint" && p.params.find("match=") == std::string::npos) {
      return make_error(Errc::Invalid, "policy fingerprint needs params match=<sha256 digest>");
    }
    std::string sql = "INSERT INTO tlspolicies (domain, policy, params) VALUES (:domain, :policy, :params) ";
    if (dialect_ == Dialect::MySQL)
      sql += "ON DUPLICATE KEY UPDATE policy = VALUES(policy), params = VALUES(params)";
    else
      sql += "ON CONFLICT (domain) DO UPDATE SET policy = excluded.policy, params = excluded.params";
    return write([&](Connection& c) -> Result<void> {
      auto r = c.execute(sql, {{"domain", d}, {"policy", p.policy}, {"params", p.params}});
      if (!r) return make_error(r.error().code, "set tls policy: " + r.error().message);
      return {};
    });
  }

  Result<void> remove_tls_policy(const std::string& domain) override {
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    return write([&](Connection& c) -> Result<void> {
      auto n =
          c.execute("DELETE FROM tlspolicies WHERE LOWER(domain) = :domain", {{"domain", to_lower(domain)}});
      if (!n) return make_error(n.error().code, "remove tls policy: " + n.error().message);
      if (n.value() == 0) return make_error(Errc::NotFound, "no tls policy for " + domain);
      return {};
    });
  }

  Result<std::vector<TlsPolicy>> list_tls_policies() override {
    return read<std::vector<TlsPolicy>>([&](Connection& c) -> Result<std::vector<TlsPolicy>> {
      auto rows = c.query("SELECT domain, policy, COALESCE(params, '') FROM tlspolicies ORDER BY domain", {});
      if (!rows) return rows.error();
      std::vector<TlsPolicy> out;
      for (const auto& row : rows.value()) out.push_back(TlsPolicy{text(row, 0), text(row, 1), text(row, 2)});
      return out;
    });
  }

  Result<std::optional<TlsPolicy>> find_tls_policy(const std::string& domain) override {
    std::string d = to_lower(domain);
    auto lookup = [&](Connection& c) -> Result<std::optional<TlsPolicy>> {
      if (!q_.tls_policy.empty()) {
        auto rows = c.query(q_.tls_policy, lookup_params("", d));
        if (!rows) return rows.error();
        if (rows->empty() || text(rows->front(), 0).empty()) return std::optional<TlsPolicy>();
        return std::optional<TlsPolicy>(TlsPolicy{d, text(rows->front(), 0), text(rows->front(), 1)});
      }
      auto rows = c.query(
          "SELECT domain, policy, COALESCE(params, '') FROM tlspolicies WHERE LOWER(domain) = :domain",
          {{"domain", d}});
      if (!rows) return rows.error();
      if (rows->empty()) return std::optional<TlsPolicy>();
      const Row& row = rows->front();
      return std::optional<TlsPolicy>(TlsPolicy{text(row, 0), text(row, 1), text(row, 2)});
    };
    // A schema of its own (PostfixAdmin) often has no tlspolicies table:
    // without a tls_policy query, no policy then.
    if (q_.any() && q_.tls_policy.empty()) return setting<std::optional<TlsPolicy>>(lookup, std::nullopt);
    return read<std::optional<TlsPolicy>>(lookup);
  }

  // ---- resolution ----
  Result<Resolution> resolve_recipient(const std::string& address) override {
    auto addr = parse_address(address);
    if (!addr) return Resolution{Resolution::Kind::Unknown, {}, {}};
    return read<Resolution>([&](Connection& c) -> Result<Resolution> {
      auto local = domain_exists(c, addr->domain);
      if (!local) return local.error();
      Resolution r;
      if (!local.value()) {
        r.kind = Resolution::Kind::NotLocal;
        return r;
      }
      std::set<std::string> visited;
      auto kind = expand(c, to_lower(addr->local), addr->domain, 0, visited, r, true);
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
    std::string user = to_lower(addr->local);
    auto found = read<std::optional<Account>>([&](Connection& c) -> Result<std::optional<Account>> {
      if (q_.password.empty()) return find_account_in(c, user, addr->domain);
      auto rows = c.query(q_.password, lookup_params(user, addr->domain));
      if (!rows) return rows.error();
      if (rows->empty() || text(rows->front(), 0).empty()) return std::optional<Account>();
      std::string hash = text(rows->front(), 0);
      bool enabled = flag(rows->front(), 1, true);
      std::optional<Account> acct;
      if (!q_.user.empty()) {
        auto a = find_account_in(c, user, addr->domain);
        if (!a) return a.error();
        acct = std::move(a).value();
      }
      if (!acct) acct = Account{user, addr->domain, "", 0, true, false};
      acct->password_hash = hash;
      acct->enabled = acct->enabled && enabled;
      return acct;
    });
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
    if (q_.any()) return make_error(Errc::Perm, kOwnQueries);
    std::string d = to_lower(domain);
    return write_value<std::optional<std::string>>([&](Connection& c) -> Result<std::optional<std::string>> {
      auto exists = domain_exists(c, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      auto acct = find_account_in(c, "postmaster", d);
      if (!acct) return acct.error();
      auto aliases = alias_targets(c, "postmaster", d, false);
      if (!aliases) return aliases.error();
      if (acct.value() || !aliases->empty()) return std::optional<std::string>();
      auto target = first_account(c, d);
      if (!target) return target.error();
      if (!target.value()) target = first_account(c, "");
      if (!target) return target.error();
      if (!target.value()) return std::optional<std::string>();
      auto at = target.value()->rfind('@');
      auto r = c.execute(
          "INSERT INTO aliases (source_username, source_domain, destination_username, destination_domain, "
          "enabled) VALUES ('postmaster', :sd, :du, :dd, :on)",
          {{"sd", d},
           {"du", target.value()->substr(0, at)},
           {"dd", target.value()->substr(at + 1)},
           {"on", val("1")}});
      if (!r) return make_error(r.error().code, "add alias: " + r.error().message);
      return target;
    });
  }

  Result<std::vector<std::string>> sender_addresses(const std::string& account_address) override {
    auto addr = parse_address(account_address);
    if (!addr) return make_error(Errc::Invalid, "invalid address");
    std::string user = to_lower(addr->local);
    std::vector<std::string> out{user + "@" + addr->domain};
    // A custom alias query maps a source to its destinations; the reverse
    // (which sources reach this account) is not known then.
    if (!q_.aliases.empty()) return out;
    return read<std::vector<std::string>>([&](Connection& c) -> Result<std::vector<std::string>> {
      auto rows = c.query(
          "SELECT COALESCE(source_username, ''), source_domain FROM aliases WHERE enabled = :on AND "
          "LOWER(destination_username) = :du AND LOWER(destination_domain) = :dd ORDER BY id",
          {{"du", user}, {"dd", addr->domain}, {"on", val("1")}});
      if (!rows) return rows.error();
      for (const auto& row : rows.value()) {
        std::string s = to_lower(text(row, 0)) + "@" + to_lower(text(row, 1));
        if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
      }
      return out;
    });
  }

  std::optional<std::string> unavailable() const override {
    if (pool_->healthy()) return std::nullopt;
    std::string why = pool_->last_error();
    return why.empty() ? std::string("the directory database cannot be reached") : why;
  }

 private:
  // ---- running statements ----
  // Reads retry once on a fresh connection; their errors are Temp.
  template <class T, class F>
  Result<T> read(F&& fn) {
    auto r = pool_->run<T>(std::function<Result<T>(Connection&)>(std::forward<F>(fn)), true);
    if (!r) return as_temp(r.error());
    return r;
  }
  // A setting in a mailfort_* table: a missing table (a server database
  // without `init-schema`) or another non-transient error reads as
  // `fallback`; an outage stays Temp.
  template <class T, class F>
  Result<T> setting(F&& fn, T fallback) {
    auto r = pool_->run<T>(std::function<Result<T>(Connection&)>(std::forward<F>(fn)), true);
    if (!r && r.error().code != Errc::Temp) return fallback;
    return r;
  }
  Result<void> write(const std::function<Result<void>(Connection&)>& fn) { return pool_->with(fn, false); }
  template <class T, class F>
  Result<T> write_value(F&& fn) {
    return pool_->run<T>(std::function<Result<T>(Connection&)>(std::forward<F>(fn)), false);
  }

  // INSERT (key, value) or update value: `table`, `key`, `value` are our
  // literals; the values are :key and :value.
  std::string upsert(const std::string& table, const std::string& key, const std::string& column) const {
    std::string sql = "INSERT INTO " + table + " (" + key + ", " + column + ") VALUES (:key, :value) ";
    if (dialect_ == Dialect::MySQL)
      return sql + "ON DUPLICATE KEY UPDATE " + column + " = VALUES(" + column + ")";
    return sql + "ON CONFLICT (" + key + ") DO UPDATE SET " + column + " = excluded." + column;
  }

  // The parameters every custom query may use.
  static Params lookup_params(const std::string& user, const std::string& domain) {
    return {{"address", user + "@" + domain}, {"username", user}, {"domain", domain}};
  }

  static Params account_params(const std::string& user, const std::string& dom, const std::string& hash,
                               const Account& a) {
    return {{"username", user},
            {"domain", dom},
            {"password", hash},
            {"quota", std::to_string(a.quota_mb)},
            {"enabled", val(a.enabled ? "1" : "0")},
            {"sendonly", val(a.send_only ? "1" : "0")}};
  }

  // ---- lookups on one connection ----
  Result<bool> domain_exists(Connection& c, const std::string& domain) {
    auto rows = q_.domain.empty()
                    ? c.query("SELECT 1 FROM domains WHERE LOWER(domain) = :domain", {{"domain", domain}})
                    : c.query(q_.domain, lookup_params("", domain));
    if (!rows) return rows.error();
    return !rows->empty();
  }

  // Columns username, domain, password, quota (MB), enabled, sendonly; a
  // custom query may stop early (defaults: quota 0, enabled, receiving)
  // and give the whole address as username.
  static Account row_to_account(const Row& row, const std::string& user, const std::string& domain) {
    Account a;
    std::string u = to_lower(text(row, 0)), d = to_lower(text(row, 1));
    if (auto at = u.rfind('@'); at != std::string::npos) {
      if (d.empty()) d = u.substr(at + 1);
      u.resize(at);
    }
    a.username = u.empty() ? user : u;
    a.domain = d.empty() ? domain : d;
    a.password_hash = text(row, 2);
    a.quota_mb = static_cast<uint64_t>(std::max<int64_t>(0, number(row, 3)));
    a.enabled = flag(row, 4, true);
    a.send_only = flag(row, 5, false);
    return a;
  }

  Result<std::optional<Account>> find_account_in(Connection& c, const std::string& user,
                                                 const std::string& domain) {
    auto rows = q_.user.empty()
                    ? c.query(
                          "SELECT username, domain, password, quota, enabled, sendonly FROM accounts "
                          "WHERE LOWER(username) = :username AND LOWER(domain) = :domain",
                          {{"username", user}, {"domain", domain}})
                    : c.query(q_.user, lookup_params(user, domain));
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<Account>();
    return std::optional<Account>(row_to_account(rows->front(), user, domain));
  }

  // The enabled destinations of `local`@`domain`, or of the domain's
  // catch-all.
  Result<std::vector<Target>> alias_targets(Connection& c, const std::string& local,
                                            const std::string& domain, bool catch_all) {
    if (!q_.aliases.empty()) return custom_alias_targets(c, catch_all ? "" : local, domain);
    auto rows = c.query(
        catch_all ? "SELECT destination_username, destination_domain FROM aliases WHERE enabled = :on AND "
                    "(source_username IS NULL OR source_username = '') AND LOWER(source_domain) = :domain "
                    "ORDER BY id"
                  : "SELECT destination_username, destination_domain FROM aliases WHERE enabled = :on AND "
                    "LOWER(source_username) = :username AND LOWER(source_domain) = :domain ORDER BY id",
        {{"username", local}, {"domain", domain}, {"on", val("1")}});
    if (!rows) return rows.error();
    std::vector<Target> out;
    for (const auto& row : rows.value()) out.emplace_back(text(row, 0), text(row, 1));
    return out;
  }

  // [directory.queries] aliases: rows of (username, domain), or one column
  // of addresses, each possibly a comma-separated list (PostfixAdmin's
  // alias.goto). A catch-all is asked with :address "@domain", :username "".
  Result<std::vector<Target>> custom_alias_targets(Connection& c, const std::string& local,
                                                   const std::string& domain) {
    auto rows = c.query(q_.aliases, lookup_params(local, domain));
    if (!rows) return rows.error();
    std::vector<Target> out;
    auto add = [&](const std::string& u, const std::string& d) {
      if (u.empty() || d.empty()) return;
      Target t{u, d};
      if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
    };
    for (const auto& row : rows.value()) {
      if (row.size() >= 2 && !is_null(row, 1) && text(row, 0).find('@') == std::string::npos) {
        add(text(row, 0), text(row, 1));
        continue;
      }
      std::string list = text(row, 0);
      std::size_t start = 0;
      while (start <= list.size()) {
        auto comma = list.find(',', start);
        std::string item =
            trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        auto a = parse_address(item);
        if (a) add(a->local, a->domain);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    return out;
  }

  // Alias expansion: first the exact address (with +tag, then without),
  // then the account, then the domain's catch-all.
  Result<Resolution::Kind> expand(Connection& c, const std::string& local, const std::string& domain,
                                  int depth, std::set<std::string>& visited, Resolution& r, bool top) {
    std::string key = local + "@" + domain;
    if (depth > kMaxAliasDepth || !visited.insert(key).second) return Resolution::Kind::Deliver;
    std::vector<std::string> candidates{local};
    auto plus = local.find('+');
    if (plus != std::string::npos && plus > 0) candidates.push_back(local.substr(0, plus));
    for (const auto& cand : candidates) {
      auto dests = alias_targets(c, cand, domain, false);
      if (!dests) return dests.error();
      // An alias of an address to itself alone (PostfixAdmin gives every
      // mailbox one) is the account.
      bool only_self =
          dests->size() == 1 &&
          to_lower(dests->front().first) + "@" + to_lower(dests->front().second) == cand + "@" + domain;
      if (!dests->empty() && !only_self) {
        for (const auto& [du, dd] : dests.value()) {
          auto r2 = follow(c, du, dd, depth, visited, r);
          if (!r2) return r2.error();
        }
        return Resolution::Kind::Deliver;
      }
      auto acct = find_account_in(c, cand, domain);
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
      if (only_self) return Resolution::Kind::Deliver;  // an alias to itself without an account: nothing
    }
    auto catch_all = alias_targets(c, "", domain, true);
    if (!catch_all) return catch_all.error();
    if (catch_all->empty()) return Resolution::Kind::Unknown;
    for (const auto& [du, dd] : catch_all.value()) {
      auto r2 = follow(c, du, dd, depth, visited, r);
      if (!r2) return r2.error();
    }
    return Resolution::Kind::Deliver;
  }

  // One alias destination: local -> expand again (an alias naming itself
  // delivers to its own account), remote -> forward.
  Result<void> follow(Connection& c, const std::string& du, const std::string& dd, int depth,
                      std::set<std::string>& visited, Resolution& r) {
    std::string dest = to_lower(du) + "@" + to_lower(dd);
    auto local = domain_exists(c, to_lower(dd));
    if (!local) return local.error();
    if (!local.value()) {
      if (std::find(r.forwards.begin(), r.forwards.end(), dest) == r.forwards.end())
        r.forwards.push_back(dest);
      return {};
    }
    if (visited.count(dest)) {
      // Self-reference ("keep a copy"): deliver to the account, no recursion.
      auto acct = find_account_in(c, to_lower(du), to_lower(dd));
      if (!acct) return acct.error();
      if (acct.value() && acct.value()->enabled && !acct.value()->send_only &&
          std::find(r.mailboxes.begin(), r.mailboxes.end(), dest) == r.mailboxes.end()) {
        r.mailboxes.push_back(dest);
      }
      return {};
    }
    auto k = expand(c, to_lower(du), to_lower(dd), depth + 1, visited, r, false);
    if (!k) return k.error();
    return {};
  }

  // One row with a nullable count, or no row: nullopt.
  static Result<std::optional<uint32_t>> optional_count(Connection& c, const char* sql,
                                                        const std::string& key) {
    auto rows = c.query(sql, {{"key", key}});
    if (!rows) return rows.error();
    if (rows->empty() || is_null(rows->front(), 0)) return std::optional<uint32_t>();
    int64_t v = number(rows->front(), 0);
    return std::optional<uint32_t>(static_cast<uint32_t>(std::clamp<int64_t>(v, 0, UINT32_MAX)));
  }

  // One column of the domain's settings row (created when missing; the
  // other columns keep their values). `column` is one of our literals.
  Result<void> set_domain_setting(const std::string& domain, const char* column, Value value) {
    std::string d = to_lower(domain);
    return write([&](Connection& c) -> Result<void> {
      auto exists = domain_exists(c, d);
      if (!exists) return exists.error();
      if (!exists.value()) return make_error(Errc::NotFound, "domain " + d + " does not exist");
      auto r =
          c.execute(upsert("mailfort_domain_settings", "domain", column), {{"key", d}, {"value", value}});
      if (!r) return make_error(r.error().code, "domain settings: " + r.error().message);
      return {};
    });
  }

  // One column of the account's settings row, likewise.
  Result<void> set_account_setting(const std::string& account_address, const char* column, Value value) {
    auto addr = parse_address(account_address);
    if (!addr) return addr.error();
    std::string user = to_lower(addr->local);
    return write([&](Connection& c) -> Result<void> {
      auto acct = find_account_in(c, user, addr->domain);
      if (!acct) return acct.error();
      if (!acct.value()) return make_error(Errc::NotFound, "account " + addr->str() + " does not exist");
      auto r = c.execute(upsert("mailfort_account_settings", "address", column),
                         {{"key", user + "@" + addr->domain}, {"value", value}});
      if (!r) return make_error(r.error().code, "account settings: " + r.error().message);
      return {};
    });
  }

  Result<void> update_account(const char* sql, const std::string& value, const Address& addr) {
    return write([&](Connection& c) -> Result<void> {
      auto n =
          c.execute(sql, {{"value", value}, {"username", to_lower(addr.local)}, {"domain", addr.domain}});
      if (!n) return make_error(n.error().code, "update account: " + n.error().message);
      if (n.value() == 0) return make_error(Errc::NotFound, "account " + addr.str() + " does not exist");
      return {};
    });
  }

  // `strict` for new aliases (parse_new_address); removal accepts whatever
  // an older version or an imported database stored.
  static Result<Address> parse_alias_source(const std::string& source, bool strict = false) {
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
  Result<void> check_shadowing(Connection& c, const std::string& user, const std::string& domain,
                               const Address& dst) {
    auto acct = find_account_in(c, user, domain);
    if (!acct) return acct.error();
    if (!acct.value()) return {};
    std::string self = user + "@" + domain;
    if (to_lower(dst.local) + "@" + dst.domain == self) return {};
    auto targets = alias_targets(c, user, domain, false);
    if (!targets) return targets.error();
    for (const auto& [du, dd] : targets.value())
      if (to_lower(du) + "@" + to_lower(dd) == self) return {};
    return make_error(Errc::Exists, self +
                                        " is an account: an alias with that source would take all its mail. "
                                        "To forward and keep a copy, first add: mailfort alias add " +
                                        self + " " + self + "; to redirect anyway, add --force");
  }

  // The first enabled receiving account of `domain` ("" = of the instance).
  Result<std::optional<std::string>> first_account(Connection& c, const std::string& domain) {
    auto rows = c.query(
        "SELECT username, domain FROM accounts WHERE enabled = :on AND sendonly = :off AND "
        "(:domain = '' OR LOWER(domain) = :domain) ORDER BY id LIMIT 1",
        {{"domain", domain}, {"on", val("1")}, {"off", val("0")}});
    if (!rows) return rows.error();
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>(to_lower(text(rows->front(), 0)) + "@" +
                                      to_lower(text(rows->front(), 1)));
  }

  std::shared_ptr<sql::Pool> pool_;
  config::DirectoryQueries q_;
  Dialect dialect_;
};

}  // namespace

Result<std::unique_ptr<Directory>> open_sql(SqlDirectoryOptions options) {
  if (!options.pool) return make_error(Errc::Invalid, "open_sql: no connection pool");
  // SQLite is local: its tables are created (and older files brought up to
  // date) at open. A server's come from `mailfort directory init-schema`,
  // and the open must not need the server to be up.
  if (options.pool->dialect() == Dialect::SQLite) {
    bool guide = !options.queries.any();
    auto r = options.pool->with([&](Connection& c) { return init_schema(c, guide); }, false);
    if (!r)
      return make_error(r.error().code, "cannot create the schema in " + options.pool->options().path + ": " +
                                            r.error().message);
  }
  return std::unique_ptr<Directory>(
      std::make_unique<SqlDirectory>(std::move(options.pool), std::move(options.queries)));
}

Result<std::unique_ptr<Directory>> open_sqlite(const std::string& path) {
  sql::ConnectOptions o;
  o.dialect = Dialect::SQLite;
  o.path = path;
  return open_sql(SqlDirectoryOptions{sql::Pool::create(std::move(o), kSqlitePoolSize), {}});
}

}  // namespace mailfort::directory
