// Directory: virtual domains, accounts, aliases and outbound TLS policies.
//
// One interface for every backend (SQLite, MariaDB/MySQL, PostgreSQL) over
// the schema of the Postfix+Dovecot+MySQL guide: domains(domain),
// accounts(username, domain, password, quota, enabled, sendonly),
// aliases(source_username, source_domain, destination_username,
// destination_domain, enabled), tlspolicies(domain, policy, params), so an
// existing vmail database works unchanged. A catch-all alias has an empty (or
// NULL) source_username.
//
// All calls block (SQL, password hashing): the server calls them on its worker
// pool, never on an I/O thread. Implementations are thread-safe. Every call
// reads the database, so changes made by the CLI are seen at once.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "directory/access.h"

namespace mailfort::directory {

struct Address {
  std::string local;   // as given (case preserved), without +tag handling
  std::string domain;  // lower-cased, no trailing dot
  std::string str() const { return local + "@" + domain; }
};

// Splits "local@domain" (the last '@'); lower-cases the domain. Rejects empty
// parts, control characters, and domains that are not dot-atoms. Quoted local
// parts are kept verbatim (the SMTP layer has already unquoted them).
Result<Address> parse_address(std::string_view s);

// An address a new account or alias may have: one SMTP can reach and every
// mail program can write without quoting. The local part is an RFC 5321
// dot-atom (atext and single inner dots; no quotes, backslashes, '@' or '/',
// which would also be a path separator in the Maildir) of at most 64 octets;
// UTF-8 (RFC 6531, SMTPUTF8 delivery resolves it like ASCII) must be valid;
// the domain a host name. Errors say what is wrong.
Result<Address> parse_new_address(std::string_view s);

struct Account {
  std::string username;  // local part (stored lower-case)
  std::string domain;
  std::string password_hash;  // "{ARGON2ID}$argon2id$...", "{SHA512-CRYPT}$6$..."
  uint64_t quota_mb = 0;      // 0 = unlimited
  bool enabled = true;
  bool send_only = false;
  std::string address() const { return username + "@" + domain; }
};

struct Alias {
  std::string source_username;  // empty = catch-all for source_domain
  std::string source_domain;
  std::string destination_username;
  std::string destination_domain;
  bool enabled = true;
  std::string source() const {
    return (source_username.empty() ? "" : source_username) + "@" + source_domain;
  }
  std::string destination() const { return destination_username + "@" + destination_domain; }
};

struct TlsPolicy {
  std::string domain;
  std::string policy;  // none may encrypt dane dane-only fingerprint verify secure
  std::string params;  // e.g. "match=.gmx.net:.gmx.ch"
};

bool is_valid_tls_policy(std::string_view policy);

// What an envelope recipient resolves to.
struct Resolution {
  enum class Kind {
    NotLocal,  // domain is not ours
    Unknown,   // our domain, no account/alias/catch-all: 550 5.1.1
    Disabled,  // account exists but is disabled: refuse
    SendOnly,  // account is send-only: refuse
    Deliver,   // deliver to `mailboxes` (local) and `forwards` (remote)
  };
  Kind kind = Kind::Unknown;
  std::vector<std::string> mailboxes;  // local accounts "user@domain", deduplicated
  std::vector<std::string> forwards;   // remote addresses, deduplicated
};

// Outcome of a login attempt. `account` is set when ok.
struct AuthResult {
  bool ok = false;
  std::optional<Account> account;
};

class Directory {
 public:
  virtual ~Directory() = default;

  // Domains
  virtual Result<void> add_domain(const std::string& domain) = 0;
  // Refuses (Exists) while accounts or aliases still use the domain.
  virtual Result<void> remove_domain(const std::string& domain) = 0;
  virtual Result<std::vector<std::string>> list_domains() = 0;
  virtual Result<bool> is_local_domain(const std::string& domain) = 0;

  // Accounts. add_account hashes `password` with the default scheme after
  // checking its strength; the domain must exist.
  virtual Result<void> add_account(const Account& account, const std::string& password) = 0;
  virtual Result<void> set_password(const std::string& address, const std::string& password) = 0;
  virtual Result<void> set_enabled(const std::string& address, bool enabled) = 0;
  virtual Result<void> remove_account(const std::string& address) = 0;
  virtual Result<std::optional<Account>> find_account(const std::string& address) = 0;
  virtual Result<std::vector<Account>> list_accounts(const std::string& domain /* "" = all */) = 0;

  // Aliases. source "@domain" is a catch-all. The source domain must be local.
  // A source that is an account takes all that account's mail (aliases are
  // looked up first): refused (Exists, with what to do instead) unless
  // `allow_shadowing` or the account keeps a copy (an alias of it to itself,
  // added first or now).
  virtual Result<void> add_alias(const std::string& source, const std::string& destination,
                                 bool allow_shadowing = false) = 0;
  virtual Result<void> remove_alias(const std::string& source, const std::string& destination) = 0;
  virtual Result<std::vector<Alias>> list_aliases(const std::string& domain /* "" = all */) = 0;

  // Outbound TLS policies.
  virtual Result<void> set_tls_policy(const TlsPolicy& policy) = 0;
  virtual Result<void> remove_tls_policy(const std::string& domain) = 0;
  virtual Result<std::vector<TlsPolicy>> list_tls_policies() = 0;
  virtual Result<std::optional<TlsPolicy>> find_tls_policy(const std::string& domain) = 0;

  // Resolves an envelope recipient: strips a "+tag" from the local part,
  // follows enabled aliases (recursively, depth-bounded, loop-safe), then the
  // account, then the domain's catch-all.
  virtual Result<Resolution> resolve_recipient(const std::string& address) = 0;

  // Verifies a login ("user@domain"; case-insensitive). Disabled accounts
  // fail. Slow on purpose (password hashing): call off the I/O threads.
  virtual Result<AuthResult> authenticate(const std::string& login, const std::string& password) = 0;

  // Inbound TLS requirement per domain (Q5): mail for a flagged domain is
  // refused unless it arrives over TLS. Kept in table mailfort_domain_settings (not
  // in the guide's schema, so an imported vmail database works without it).
  virtual Result<bool> requires_tls(const std::string& domain) { return false; }
  virtual Result<void> set_requires_tls(const std::string& domain, bool required) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }

  // Outgoing sending limits (Q7): per-account and per-domain overrides of
  // [limits] send_per_hour_mailbox/_domain, in messages per hour (0 =
  // unlimited; nullopt = the config default). Kept in tables
  // mailfort_account_settings and mailfort_domain_settings, outside the guide's schema.
  virtual Result<std::optional<uint32_t>> send_limit(const std::string& account_address) {
    return std::optional<uint32_t>();
  }
  virtual Result<void> set_send_limit(const std::string& account_address, std::optional<uint32_t> per_hour) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }
  virtual Result<std::optional<uint32_t>> domain_send_limit(const std::string& domain) {
    return std::optional<uint32_t>();
  }
  virtual Result<void> set_domain_send_limit(const std::string& domain, std::optional<uint32_t> per_hour) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }

  // RFC 5321 4.5.1: postmaster@DOMAIN must reach a person. Unless an
  // account or alias named postmaster exists in DOMAIN, adds the alias
  // postmaster@DOMAIN -> the domain's first receiving account, else the
  // instance's first (its admin). Returns the destination added, or nullopt
  // when nothing was needed or no account exists yet.
  virtual Result<std::optional<std::string>> ensure_postmaster(const std::string& domain) {
    return std::optional<std::string>();
  }

  // Header From/Sender exceptions (S6): an account, or every account of a
  // domain, may write any address there (a newsletter, a shared sender).
  // Column allow_any_from of mailfort_account_settings and mailfort_domain_settings.
  // allows_any_from is the account's or its domain's setting.
  virtual Result<bool> allows_any_from(const std::string& account_address) { return false; }
  virtual Result<void> set_allow_any_from(const std::string& account_address, bool allowed) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }
  virtual Result<bool> domain_allows_any_from(const std::string& domain) { return false; }
  virtual Result<void> set_domain_allow_any_from(const std::string& domain, bool allowed) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }

  // Access lists (access.h), table `mailfort_access`. add_access replaces the action
  // of an existing entry; remove_access: NotFound when absent. Read on
  // every use, so a change reaches a running server at once.
  virtual Result<void> add_access(const std::string& entry, AccessAction action) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }
  virtual Result<void> remove_access(const std::string& entry) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }
  virtual Result<std::vector<AccessEntry>> list_access() { return std::vector<AccessEntry>(); }

  // Addresses an account may use as envelope sender: its own address and the
  // sources of enabled aliases that point to it (sender login maps).
  virtual Result<std::vector<std::string>> sender_addresses(const std::string& account_address) = 0;

  // Stores an account with its password hash as given (`mailfort directory
  // migrate`, imports): inserted, or its row updated when it exists. The
  // domain must exist.
  virtual Result<void> import_account(const Account& account) {
    return make_error(Errc::Perm, "not supported by this directory backend");
  }

  // Why the directory cannot answer right now (its database is down), for
  // logs and /readyz; nullopt when it can.
  virtual std::optional<std::string> unavailable() const { return std::nullopt; }
};

// Opens (creating the schema when missing) an SQLite directory.
Result<std::unique_ptr<Directory>> open_sqlite(const std::string& path);

}  // namespace mailfort::directory
