// mailfort directory init-schema|migrate: the directory's tables on a
// database server, and copying a directory between engines.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <memory>

#include "cli/commands.h"
#include "directory/open.h"
#include "sql/sql.h"

namespace mailfort::cli {
namespace {

struct DirectoryArgs {
  bool print = false;
  bool mailfort_only = false;
  std::string to;
  std::string password_file;
  std::string tls = "none";  // to the target server, as [directory] tls
  std::string tls_ca_file;
};

Result<std::string> first_line_of(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Errc::Invalid, "cannot read the password file " + path);
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int init_schema(const config::Config& cfg, const DirectoryArgs& a) {
  auto opts = directory::connect_options(cfg);
  if (!opts) return fail(opts.error().message);
  if (a.print) {
    // Nothing is touched: a DBA reads this first.
    std::fputs(directory::schema_sql(opts->dialect, !a.mailfort_only).c_str(), stdout);
    return 0;
  }
  auto conn = sql::connect(*opts);
  if (!conn) return fail("cannot connect to " + opts->display() + ": " + conn.error().message);
  if (auto r = directory::init_schema(*conn.value(), !a.mailfort_only); !r) return fail(r.error().message);
  std::printf("schema ready on %s (%s tables%s; existing tables were not altered)\n", opts->display().c_str(),
              a.mailfort_only ? "mailfort_*" : "the guide's and the mailfort_*",
              a.mailfort_only ? "" : " where missing");
  return 0;
}

// Counts of what one migrate run wrote.
struct Copied {
  std::size_t domains = 0, domains_present = 0, accounts = 0, aliases = 0, aliases_present = 0,
              tls_policies = 0, settings = 0, access = 0;
};

// Copies `from` into `to`: rows missing there are added, rows present are
// updated to the source's values (accounts, TLS policies, settings, access),
// so a second run changes nothing.
Result<Copied> copy_directory(directory::Directory& from, directory::Directory& to) {
  Copied c;
  auto domains = from.list_domains();
  if (!domains) return domains.error();
  for (const auto& d : domains.value()) {
    auto r = to.add_domain(d);
    if (r.ok()) {
      ++c.domains;
    } else if (r.error().code == Errc::Exists) {
      ++c.domains_present;
    } else {
      return Error{r.error().code, "domain " + d + ": " + r.error().message};
    }
    auto tls = from.requires_tls(d);
    auto limit = from.domain_send_limit(d);
    auto any = from.domain_allows_any_from(d);
    if (!tls || !limit || !any) return make_error(Errc::Temp, "cannot read the settings of domain " + d);
    if (tls.value()) {
      if (auto w = to.set_requires_tls(d, true); !w) return w.error();
      ++c.settings;
    }
    if (limit.value()) {
      if (auto w = to.set_domain_send_limit(d, limit.value()); !w) return w.error();
      ++c.settings;
    }
    if (any.value()) {
      if (auto w = to.set_domain_allow_any_from(d, true); !w) return w.error();
      ++c.settings;
    }
  }
  auto accounts = from.list_accounts("");
  if (!accounts) return accounts.error();
  for (const auto& a : accounts.value()) {
    if (auto r = to.import_account(a); !r)
      return Error{r.error().code, a.address() + ": " + r.error().message};
    ++c.accounts;
    auto limit = from.send_limit(a.address());
    auto any = from.allows_any_from(a.address());
    if (!limit || !any) return make_error(Errc::Temp, "cannot read the settings of " + a.address());
    if (limit.value()) {
      if (auto w = to.set_send_limit(a.address(), limit.value()); !w) return w.error();
      ++c.settings;
    }
    if (any.value()) {
      if (auto w = to.set_allow_any_from(a.address(), true); !w) return w.error();
      ++c.settings;
    }
  }
  auto aliases = from.list_aliases("");
  if (!aliases) return aliases.error();
  for (const auto& al : aliases.value()) {
    // Shadowing was allowed (or the account keeps a copy) in the source.
    auto r = to.add_alias(al.source(), al.destination(), /*allow_shadowing=*/true);
    if (r.ok()) {
      ++c.aliases;
    } else if (r.error().code == Errc::Exists) {
      ++c.aliases_present;
    } else {
      return Error{r.error().code,
                   "alias " + al.source() + " -> " + al.destination() + ": " + r.error().message};
    }
  }
  auto policies = from.list_tls_policies();
  if (!policies) return policies.error();
  for (const auto& p : policies.value()) {
    if (auto r = to.set_tls_policy(p); !r) return r.error();
    ++c.tls_policies;
  }
  auto access = from.list_access();
  if (!access) return access.error();
  for (const auto& e : access.value()) {
    if (auto r = to.add_access(e.entry, e.action); !r) return r.error();
    ++c.access;
  }
  return c;
}

int migrate(AdminContext& admin, const DirectoryArgs& a) {
  auto opts = sql::parse_url(a.to);
  if (!opts) return fail("--to: " + opts.error().message);
  if (!a.password_file.empty()) {
    auto pw = first_line_of(a.password_file);
    if (!pw) return fail(pw.error().message);
    opts->password = pw.value();
  }
  opts->connect_timeout = std::chrono::seconds(admin.cfg.directory.connect_timeout_seconds);
  opts->tls = a.tls == "verify"    ? sql::ConnectOptions::Tls::Verify
              : a.tls == "require" ? sql::ConnectOptions::Tls::Require
                                   : sql::ConnectOptions::Tls::None;
  opts->tls_ca_file = a.tls_ca_file;
  {
    auto conn = sql::connect(*opts);
    if (!conn) return fail("cannot connect to " + opts->display() + ": " + conn.error().message);
    if (auto r = directory::init_schema(*conn.value(), true); !r) return fail(r.error().message);
  }
  auto target = directory::open_sql({sql::Pool::create(*opts, 2), {}});
  if (!target) return fail(target.error().message);
  auto copied = copy_directory(*admin.dir, *target.value());
  if (!copied)
    return fail("migrate stopped: " + copied.error().message + " (run it again: it is idempotent)");
  const Copied& c = copied.value();
  std::printf("migrated to %s\n", opts->display().c_str());
  std::printf("domains:      %zu added, %zu already there\n", c.domains, c.domains_present);
  std::printf("accounts:     %zu written\n", c.accounts);
  std::printf("aliases:      %zu added, %zu already there\n", c.aliases, c.aliases_present);
  std::printf("tls policies: %zu written\n", c.tls_policies);
  std::printf("settings:     %zu written\n", c.settings);
  std::printf("access:       %zu written\n", c.access);
  return 0;
}

}  // namespace

void add_directory_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<DirectoryArgs>();
  auto* dir_cmd = app.add_subcommand("directory", "The directory's database: schema and migration");
  dir_cmd->require_subcommand(1);

  auto* init = dir_cmd->add_subcommand(
      "init-schema",
      "Create Mailfort's mailfort_* tables beside the guide's vmail tables on the configured database (and "
      "the guide's four tables where missing). Existing tables are never altered");
  init->add_flag("--print", a->print, "Print the SQL instead of running it (for a DBA to review)");
  init->add_flag("--mailfort-only", a->mailfort_only, "Only the mailfort_* tables, not the guide's");
  on_admin(init, ctx, [a](AdminContext& admin) { return init_schema(admin.cfg, *a); });

  auto* mig = dir_cmd->add_subcommand(
      "migrate",
      "Copy the configured directory (domains, accounts with their password hashes, aliases, TLS policies, "
      "settings, access lists) into another database: sqlite:///path, mysql://..., postgresql://... "
      "Idempotent: a second run changes nothing");
  mig->add_option("--to", a->to, "Target database URL (no password in it)")->required();
  mig->add_option("--password-file", a->password_file, "File whose first line is the target's password");
  mig->add_option("--tls", a->tls, "TLS to the target server, as [directory] tls: none, require or verify")
      ->check(CLI::IsMember({"none", "require", "verify"}));
  mig->add_option("--tls-ca-file", a->tls_ca_file, "CA bundle for --tls verify; default the system's");
  on_directory(mig, ctx, [a](AdminContext& admin) { return migrate(admin, *a); });
}

}  // namespace mailfort::cli
