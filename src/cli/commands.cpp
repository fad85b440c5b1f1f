// The command tree. Thin: parse arguments, call a service, print one line or
// a table; errors are one line on stderr and a non-zero exit.
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <vector>

#include "base/config.h"
#include "base/privileges.h"
#include "base/text.h"
#include "cli/cli.h"
#include "cli/dns_records.h"
#include "cli/instance.h"
#include "directory/directory.h"
#include "directory/password.h"
#include "dkim/dkim.h"
#include "dns/resolver.h"
#include "outbound/tlsrpt.h"
#include "policy/ban_service.h"
#include "queue/queue.h"
#include "server/server.h"
#include "store/group_commit.h"
#include "tls/certs.h"

namespace mailfort::cli {
namespace {

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailfort: %s\n", msg.c_str());
  return 1;
}

std::string default_config_path() {
  const char* env = std::getenv("MAILFORT_CONFIG");
  return env && *env ? env : "/etc/mailfort/mailfort.toml";
}

std::optional<config::Config> load_config(const std::string& path) {
  auto r = config::load_file(path);
  if (!r.config) {
    for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
    return std::nullopt;
  }
  return std::move(*r.config);
}

// Loads the config and drops to run_as (so files SQLite creates stay the
// server's), then opens the directory.
struct AdminContext {
  config::Config cfg;
  std::unique_ptr<directory::Directory> dir;
};

std::optional<AdminContext> admin_context(const std::string& path, bool open_directory = true) {
  auto cfg = load_config(path);
  if (!cfg) return std::nullopt;
  if (auto r = drop_privileges(cfg->run_as); !r) {
    fail(r.error().message);
    return std::nullopt;
  }
  AdminContext ctx{std::move(*cfg), nullptr};
  if (open_directory) {
    auto d = directory::open_sqlite(ctx.cfg.directory_db_path());
    if (!d) {
      fail(d.error().message);
      return std::nullopt;
    }
    ctx.dir = std::move(d.value());
  }
  return ctx;
}

int done(const Result<void>& r, const std::string& ok_line) {
  if (!r) return fail(r.error().message);
  std::printf("%s\n", ok_line.c_str());
  return 0;
}

std::string read_password_stdin() {
  std::string pw;
  std::getline(std::cin, pw);
  while (!pw.empty() && (pw.back() == '\r' || pw.back() == '\n')) pw.pop_back();
  return pw;
}

std::string iso_time(int64_t t) {
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int run_check(const std::string& path) {
  auto r = config::load_file(path);
  std::vector<config::Problem> problems = r.problems;
  const auto* parsed = r.config ? &*r.config : (r.partial ? &*r.partial : nullptr);
  if (parsed) {
    const auto& c = *parsed;
    bool tls = std::any_of(c.listeners.begin(), c.listeners.end(),
                           [](const auto& l) { return l.tls != config::TlsMode::none; });
    if (tls && !c.tls.cert.empty() && !c.tls.key.empty()) {
      for (const auto& p : tls::check_cert_key(c.tls.cert, c.tls.key)) {
        int line = c.line_of(p.which == tls::CertProblem::Which::Cert ? "tls.cert" : "tls.key");
        problems.push_back({path, line, p.message});
      }
    }
    if (geteuid() == 0 && !lookup_user(c.run_as)) {
      problems.push_back({path, c.line_of("run_as"), "run_as user '" + c.run_as + "' does not exist"});
    }
    if (!c.data_dir.empty() && ::access(c.data_dir.c_str(), F_OK) != 0) {
      problems.push_back({path, c.line_of("data_dir"), "data_dir " + c.data_dir + " does not exist"});
    }
    if (!c.dns.trust_anchor.empty() && ::access(c.dns.trust_anchor.c_str(), R_OK) != 0) {
      problems.push_back(
          {path, c.line_of("dns.trust_anchor"), "trust anchor " + c.dns.trust_anchor + " is not readable"});
    }
  }
  for (const auto& p : problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
  if (!problems.empty()) return 1;
  std::printf("config OK: %s\n", path.c_str());
  return 0;
}

// RFC 5321 4.5.1: every domain has a postmaster (Directory::ensure_postmaster).
// `note_missing`: say so when no account exists yet to point it to.
int report_postmaster(directory::Directory& d, const std::string& domain, bool note_missing) {
  auto pm = d.ensure_postmaster(domain);
  if (!pm) return fail(pm.error().message);
  if (pm.value()) {
    std::printf("added alias postmaster@%s -> %s (RFC 5321 requires a postmaster)\n", domain.c_str(),
                pm.value()->c_str());
  } else if (note_missing) {
    auto acct = d.find_account("postmaster@" + domain);
    auto aliases = d.list_aliases(domain);
    bool present = (acct && acct.value()) ||
                   (aliases && std::any_of(aliases->begin(), aliases->end(), [](const directory::Alias& a) {
                      return to_lower(a.source_username) == "postmaster";
                    }));
    if (!present) {
      std::printf("postmaster@%s will be an alias of the first account you add (RFC 5321 4.5.1)\n",
                  domain.c_str());
    }
  }
  return 0;
}

// A sending-limit override as `user list`/`domain list` show it.
std::string limit_text(std::optional<uint32_t> per_hour) {
  if (!per_hour) return "default";
  return *per_hour == 0 ? "unlimited" : std::to_string(*per_hour);
}

}  // namespace

int run(int argc, char** argv) {
  // Files we create (databases with password hashes, keys) are never world-readable.
  ::umask(027);
  CLI::App app{"Mailfort: an all-in-one secure mail server"};
  app.set_version_flag("--version", "mailfort 0.1.0");
  app.require_subcommand(1);
  std::string config_path = default_config_path();
  app.add_option("-c,--config", config_path,
                 "Config file (default $MAILFORT_CONFIG or /etc/mailfort/mailfort.toml)");

  // init
  InitOptions init;
  auto* init_cmd = app.add_subcommand("init", "Create a new instance: config, data, certificate, directory");
  init_cmd->add_option("--dir", init.dir, "Instance directory")->required();
  init_cmd->add_option("--hostname", init.hostname, "Fully qualified host name of this server")->required();
  init_cmd->add_option("--domain", init.domain, "First mail domain")->required();
  init_cmd->add_flag("--dev", init.dev, "Bind 127.0.0.1 on unprivileged ports (2525, 2587, 2465, ...)");
  init_cmd->add_option("--cert", init.cert, "Existing certificate chain (PEM)");
  init_cmd->add_option("--key", init.key, "Key of --cert (PEM)");
  init_cmd->add_flag("--force", init.force, "Overwrite an existing config file");

  auto* serve_cmd = app.add_subcommand("serve", "Run the server in the foreground");
  auto* check_cmd = app.add_subcommand("check", "Validate the config and the files it names");
  auto* ref_cmd = app.add_subcommand("config-reference", "Print docs/configuration.md");
  ref_cmd->group("");  // hidden

  // domain
  std::string domain_arg, flag_arg;
  auto* domain_cmd = app.add_subcommand("domain", "Manage mail domains");
  domain_cmd->require_subcommand(1);
  auto* domain_add = domain_cmd->add_subcommand(
      "add",
      "Add a domain. Also adds the alias postmaster@DOMAIN (RFC 5321 4.5.1) to the domain's first account, "
      "or else the instance's first account (the admin); with no account yet, `user add` adds it later");
  domain_add->add_option("DOMAIN", domain_arg)->required();
  auto* domain_remove = domain_cmd->add_subcommand("remove", "Remove a domain (refused while in use)");
  domain_remove->add_option("DOMAIN", domain_arg)->required();
  auto* domain_list = domain_cmd->add_subcommand("list", "List domains");
  auto* domain_any_from = domain_cmd->add_subcommand(
      "allow-any-from",
      "Let every account of DOMAIN write any address in the header From/Sender (default off: only "
      "addresses the login owns; [smtp] enforce_header_from)");
  domain_any_from->add_option("DOMAIN", domain_arg)->required();
  domain_any_from->add_option("STATE", flag_arg, "on or off")
      ->required()
      ->check(CLI::IsMember({"on", "off"}));
  auto* domain_tls = domain_cmd->add_subcommand("require-tls", "Refuse inbound mail for DOMAIN without TLS");
  domain_tls->add_option("DOMAIN", domain_arg)->required();
  domain_tls->add_option("STATE", flag_arg, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  std::string limit_arg;
  auto limit_check = CLI::Validator(
      [](std::string& v) -> std::string {
        if (v == "default") return "";
        if (v.empty() || v.size() > 8 || v.find_first_not_of("0123456789") != std::string::npos)
          return "must be a number of messages per hour (0 = unlimited) or 'default'";
        return "";
      },
      "N|default");
  auto* domain_limit = domain_cmd->add_subcommand(
      "limit",
      "Messages per hour all accounts of DOMAIN may send together (overrides [limits] "
      "send_per_hour_domain; 0 = unlimited, default = the config's)");
  domain_limit->add_option("DOMAIN", domain_arg)->required();
  domain_limit->add_option("LIMIT", limit_arg, "N or default")->required()->check(limit_check);

  // user
  std::string address, list_domain;
  uint64_t quota = 0;
  bool send_only = false, password_stdin = false;
  auto* user_cmd = app.add_subcommand("user", "Manage accounts");
  user_cmd->require_subcommand(1);
  auto* user_add = user_cmd->add_subcommand(
      "add",
      "Add an account (prints a generated password once). ADDRESS: a dot-atom local part (letters, digits, "
      "single dots and !#$%&'*+-=?^_`{|}~; UTF-8 allowed) @ a local domain. The domain's postmaster alias "
      "points here when the domain had none");
  user_add->add_option("ADDRESS", address)->required();
  user_add->add_option("--quota", quota, "Mailbox quota in MB (0 = unlimited)");
  user_add->add_flag("--send-only", send_only, "May log in and send, receives nothing");
  user_add->add_flag("--password-stdin", password_stdin, "Read the password from standard input");
  auto* user_passwd = user_cmd->add_subcommand("passwd", "Set a new password");
  user_passwd->add_option("ADDRESS", address)->required();
  user_passwd->add_flag("--password-stdin", password_stdin, "Read the password from standard input");
  auto* user_enable = user_cmd->add_subcommand("enable", "Enable an account");
  user_enable->add_option("ADDRESS", address)->required();
  auto* user_disable = user_cmd->add_subcommand("disable", "Disable an account (no login, no mail)");
  user_disable->add_option("ADDRESS", address)->required();
  auto* user_remove = user_cmd->add_subcommand("remove", "Remove an account (its mailbox stays on disk)");
  user_remove->add_option("ADDRESS", address)->required();
  auto* user_limit = user_cmd->add_subcommand(
      "limit",
      "Messages per hour ADDRESS may send (overrides [limits] send_per_hour_mailbox; "
      "0 = unlimited, default = the config's)");
  user_limit->add_option("ADDRESS", address)->required();
  user_limit->add_option("LIMIT", limit_arg, "N or default")->required()->check(limit_check);
  auto* user_any_from = user_cmd->add_subcommand(
      "allow-any-from",
      "Let ADDRESS write any address in the header From/Sender, e.g. a newsletter or shared sender "
      "(default off: only addresses the login owns; [smtp] enforce_header_from)");
  user_any_from->add_option("ADDRESS", address)->required();
  user_any_from->add_option("STATE", flag_arg, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  auto* user_list = user_cmd->add_subcommand("list", "List accounts");
  user_list->add_option("DOMAIN", list_domain);

  // alias
  std::string source, dest;
  auto* alias_cmd = app.add_subcommand("alias", "Manage aliases (SOURCE @domain = catch-all)");
  alias_cmd->require_subcommand(1);
  bool alias_force = false;
  auto* alias_add = alias_cmd->add_subcommand(
      "add",
      "Add an alias. A SOURCE that is an account is refused (the alias would take all its mail) unless it "
      "keeps a copy (alias SOURCE to itself first) or --force");
  alias_add->add_option("SOURCE", source)->required();
  alias_add->add_option("DEST", dest)->required();
  alias_add->add_flag("--force", alias_force, "Add it even when SOURCE is an account that then gets no mail");
  auto* alias_remove = alias_cmd->add_subcommand("remove", "Remove an alias");
  alias_remove->add_option("SOURCE", source)->required();
  alias_remove->add_option("DEST", dest)->required();
  auto* alias_list = alias_cmd->add_subcommand("list", "List aliases");
  alias_list->add_option("DOMAIN", list_domain);

  // tls-policy
  std::string policy, params;
  auto* tlsp_cmd = app.add_subcommand("tls-policy", "Outbound TLS policy per recipient domain");
  tlsp_cmd->require_subcommand(1);
  auto* tlsp_set = tlsp_cmd->add_subcommand(
      "set", "Set a policy: none may encrypt dane dane-only fingerprint verify secure");
  tlsp_set->add_option("DOMAIN", domain_arg)->required();
  tlsp_set->add_option("POLICY", policy)->required();
  tlsp_set->add_option("PARAMS", params, "e.g. match=.gmx.net:.gmx.ch");
  auto* tlsp_remove = tlsp_cmd->add_subcommand("remove", "Remove a policy");
  tlsp_remove->add_option("DOMAIN", domain_arg)->required();
  auto* tlsp_list = tlsp_cmd->add_subcommand("list", "List policies");

  // ban
  std::string ip;
  auto* ban_cmd = app.add_subcommand("ban", "Brute-force bans");
  ban_cmd->require_subcommand(1);
  auto* ban_list = ban_cmd->add_subcommand("list", "List active bans");
  auto* ban_remove = ban_cmd->add_subcommand("remove", "Lift a ban");
  ban_remove->add_option("IP", ip)->required();

  // queue
  auto* queue_cmd = app.add_subcommand("queue", "Outbound queue");
  queue_cmd->require_subcommand(1);
  auto* queue_list = queue_cmd->add_subcommand("list", "List queued messages");
  auto* queue_flush = queue_cmd->add_subcommand("flush", "Attempt every queued message now");
  std::string queue_id;
  auto* queue_hold = queue_cmd->add_subcommand("hold", "Keep a message from being delivered");
  queue_hold->add_option("ID", queue_id, "Queue id")->required();
  auto* queue_release = queue_cmd->add_subcommand("release", "Release a held message");
  queue_release->add_option("ID", queue_id, "Queue id")->required();
  auto* queue_delete = queue_cmd->add_subcommand("delete", "Delete a queued message (no bounce)");
  queue_delete->add_option("ID", queue_id, "Queue id")->required();

  // resolve
  std::string rname, rtype = "A";
  auto* resolve_cmd = app.add_subcommand("resolve", "Look up DNS records through the configured resolvers");
  resolve_cmd->add_option("NAME", rname)->required();
  resolve_cmd->add_option("TYPE", rtype, "A AAAA MX TXT TLSA PTR CNAME NS (default A)");

  // dkim
  std::string dkim_domain, dkim_selector, dkim_alg = "rsa2048";
  auto* dkim_cmd = app.add_subcommand("dkim", "DKIM signing keys of local domains");
  dkim_cmd->require_subcommand(1);
  auto* dkim_keygen = dkim_cmd->add_subcommand(
      "keygen", "Create a signing key for DOMAIN (replaces its active key of that algorithm)");
  dkim_keygen->add_option("DOMAIN", dkim_domain)->required();
  dkim_keygen->add_option("--selector", dkim_selector, "Selector (default mf<yyyymm>r / mf<yyyymm>e)");
  dkim_keygen->add_option("--algorithm", dkim_alg, "rsa2048 (default) or ed25519")
      ->check(CLI::IsMember({"rsa2048", "ed25519"}));
  auto* dkim_dns = dkim_cmd->add_subcommand("dns", "Print the DNS TXT records of DOMAIN's active keys");
  dkim_dns->add_option("DOMAIN", dkim_domain)->required();

  std::string dns_domain;
  auto* dns_cmd = app.add_subcommand(
      "dns",
      "Print the DNS records to publish for DOMAIN (MX, SPF, DKIM, DMARC, MTA-STS, TLSRPT, TLSA, SRV)");
  dns_cmd->add_option("DOMAIN", dns_domain)->required();

  // tlsrpt
  std::string tlsrpt_day;
  auto* tlsrpt_cmd = app.add_subcommand("tlsrpt", "SMTP TLS Reporting (RFC 8460) of outbound delivery");
  tlsrpt_cmd->require_subcommand(1);
  auto* tlsrpt_send = tlsrpt_cmd->add_subcommand(
      "send",
      "Queue the TLS reports of a UTC day not yet reported (the server does this daily for yesterday)");
  tlsrpt_send->add_option("--day", tlsrpt_day, "YYYY-MM-DD (UTC; default yesterday)");

  // -c/--config is also accepted after the subcommand.
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    sub->fallthrough();
    for (auto* s2 : sub->get_subcommands([](CLI::App*) { return true; })) s2->fallthrough();
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    std::fprintf(stderr, "mailfort: %s (see --help)\n", msg.c_str());
    return 2;
  }

  if (init_cmd->parsed()) return run_init(init);
  if (serve_cmd->parsed()) return server::serve(config_path);
  if (check_cmd->parsed()) return run_check(config_path);
  if (ref_cmd->parsed()) {
    std::fputs(config::reference_markdown().c_str(), stdout);
    return 0;
  }

  if (ban_cmd->parsed()) {
    auto ctx = admin_context(config_path, false);
    if (!ctx) return 1;
    const auto& l = ctx->cfg.limits;
    auto bans = policy::BanService::open(
        ctx->cfg.state_db_path(), {l.auth_failures_before_ban, l.ban_window_seconds, l.ban_duration_seconds});
    if (!bans) return fail(bans.error().message);
    if (ban_list->parsed()) {
      auto list = bans.value()->list();
      if (!list) return fail(list.error().message);
      std::printf("%-40s  %-20s  %s\n", "IP", "UNTIL", "REASON");
      for (const auto& b : list.value()) {
        std::printf("%-40s  %-20s  %s\n", b.ip.c_str(), iso_time(b.until).c_str(), b.reason.c_str());
      }
      return 0;
    }
    if (ban_remove->parsed()) return done(bans.value()->remove(ip), "lifted ban on " + ip);
  }

  if (resolve_cmd->parsed()) {
    auto cfg = load_config(config_path);
    if (!cfg) return 1;
    auto type = dns::parse_type(rtype);
    if (!type) return fail(type.error().message);
    auto resolver = dns::Resolver::create({cfg->dns.resolvers, cfg->dns.recursion, cfg->dns.trust_anchor});
    if (!resolver) return fail(resolver.error().message);
    auto a = type.value() == dns::Type::PTR ? resolver.value()->query_ptr(rname)
                                            : resolver.value()->query(rname, type.value());
    std::printf("status=%s secure=%s\n", dns::status_name(a.status), a.secure ? "yes" : "no");
    for (const auto& t : a.text)
      std::printf("%s %s %s\n", rname.c_str(), dns::type_name(type.value()), t.c_str());
    if (a.status == dns::Answer::Status::Bogus) std::printf("why: %s\n", a.why_bogus.c_str());
    return a.status == dns::Answer::Status::Ok ? 0 : 1;
  }

  if (queue_cmd->parsed()) {
    auto ctx = admin_context(config_path, false);
    if (!ctx) return 1;
    // Reading needs no commit machinery; the queue only writes through it.
    auto gc = store::GroupCommit::start(ctx->cfg.data_dir);
    if (!gc) return fail(gc.error().message);
    queue::Queue q(ctx->cfg.data_dir, *gc.value());
    if (queue_list->parsed()) {
      auto ids = q.list();
      if (!ids) return fail(ids.error().message);
      auto held = q.list_held();
      std::printf("%-26s  %-8s  %-20s  %-20s  %-30s  %s\n", "ID", "STATE", "ARRIVAL", "NEXT ATTEMPT",
                  "SENDER", "RECIPIENT STATE ATTEMPTS LAST-ERROR");
      auto show = [&](const std::string& id, bool is_held) {
        auto e = is_held ? q.read_held_envelope(id) : q.read_envelope(id);
        if (!e) return;
        std::printf("%-26s  %-8s  %-20s  %-20s  %-30s\n", id.c_str(), is_held ? "held" : "active",
                    iso_time(e->arrival).c_str(), iso_time(e->next_attempt).c_str(),
                    e->sender.empty() ? "<>" : e->sender.c_str());
        for (const auto& r : e->recipients) {
          const char* st = r.state == queue::Recipient::State::Pending     ? "pending"
                           : r.state == queue::Recipient::State::Delivered ? "delivered"
                                                                           : "failed";
          std::printf("    %s %s %u %s\n", r.address.c_str(), st, r.attempts,
                      r.last_error.empty() ? "-" : r.last_error.c_str());
        }
      };
      for (const auto& id : ids.value()) show(id, false);
      if (held)
        for (const auto& id : held.value()) show(id, true);
      return 0;
    }
    if (queue_flush->parsed()) {
      // The running server owns the queue files; it sees the request within
      // a second and attempts everything.
      std::string req = ctx->cfg.data_dir + "/queue/flush-request";
      FILE* f = std::fopen(req.c_str(), "w");
      if (!f) return fail("cannot write " + req);
      std::fclose(f);
      std::printf("flush requested\n");
      return 0;
    }
    if (queue_hold->parsed()) return done(q.hold(queue_id), "held " + queue_id);
    if (queue_release->parsed()) return done(q.release(queue_id), "released " + queue_id);
    if (queue_delete->parsed()) return done(q.remove(queue_id), "deleted " + queue_id);
  }

  if (tlsrpt_send->parsed()) {
    auto ctx = admin_context(config_path, false);
    if (!ctx) return 1;
    int64_t now = static_cast<int64_t>(std::time(nullptr));
    std::string day = tlsrpt_day.empty() ? server::utc_day(now - 86400) : tlsrpt_day;
    if (!server::day_start(day)) return fail("invalid --day " + day + " (YYYY-MM-DD)");
    auto store = server::TlsReportStore::open(ctx->cfg.data_dir + "/tlsrpt.sqlite");
    if (!store) return fail(store.error().message);
    auto resolver =
        dns::Resolver::create({ctx->cfg.dns.resolvers, ctx->cfg.dns.recursion, ctx->cfg.dns.trust_anchor});
    if (!resolver) return fail(resolver.error().message);
    auto gc = store::GroupCommit::start(ctx->cfg.data_dir);
    if (!gc) return fail(gc.error().message);
    queue::Queue q(ctx->cfg.data_dir, *gc.value());
    auto run = server::send_tls_reports(*store.value(), *resolver.value(), q, ctx->cfg.hostname, day, now);
    if (run.messages > 0) {
      // The running server picks the new queue files up within a second.
      std::string req = ctx->cfg.data_dir + "/queue/flush-request";
      if (FILE* f = std::fopen(req.c_str(), "w")) std::fclose(f);
    }
    std::printf("tlsrpt day=%s reports=%zu messages=%zu\n", day.c_str(), run.domains, run.messages);
    return 0;
  }

  auto ctx = admin_context(config_path);
  if (!ctx) return 1;
  auto& d = *ctx->dir;

  if (dns_cmd->parsed()) {
    dns_domain = to_lower(dns_domain);
    auto local = d.is_local_domain(dns_domain);
    if (!local) return fail(local.error().message);
    if (!local.value()) return fail(dns_domain + " is not a local domain");
    auto records = dns_records(ctx->cfg, dns_domain);
    if (!records) return fail(records.error().message);
    std::fputs(records->c_str(), stdout);
    return 0;
  }
  if (dkim_keygen->parsed() || dkim_dns->parsed()) {
    auto local = d.is_local_domain(to_lower(dkim_domain));
    if (!local) return fail(local.error().message);
    if (!local.value()) return fail(dkim_domain + " is not a local domain");
    if (dkim_keygen->parsed()) {
      auto alg = dkim_alg == "ed25519" ? dkim::Algorithm::Ed25519 : dkim::Algorithm::Rsa2048;
      if (dkim_selector.empty()) dkim_selector = dkim::default_selector(alg, std::time(nullptr));
      auto key = dkim::create_key(ctx->cfg.data_dir, dkim_domain, dkim_selector, alg);
      if (!key) return fail(key.error().message);
      auto zone = dkim::zone_record(*key);
      if (!zone) return fail(zone.error().message);
      std::printf("created %s key %s for %s (%s)\n", dkim::algorithm_name(alg), key->selector.c_str(),
                  key->domain.c_str(), dkim::key_path(ctx->cfg.data_dir, key->domain, key->selector).c_str());
      std::printf("%s\n", zone->c_str());
      return 0;
    }
    auto keys = dkim::load_keys(ctx->cfg.data_dir, dkim_domain);
    if (!keys) return fail(keys.error().message);
    if (keys->empty())
      return fail("no DKIM key for " + dkim_domain + " (mailfort dkim keygen " + dkim_domain + ")");
    for (const auto& k : *keys) {
      auto zone = dkim::zone_record(k);
      if (!zone) return fail(zone.error().message);
      std::printf("%s\n", zone->c_str());
    }
    return 0;
  }
  if (domain_add->parsed()) {
    if (auto r = d.add_domain(domain_arg); !r) return fail(r.error().message);
    std::printf("added domain %s\n", domain_arg.c_str());
    return report_postmaster(d, to_lower(domain_arg), true);
  }
  if (domain_any_from->parsed()) {
    return done(d.set_domain_allow_any_from(domain_arg, flag_arg == "on"),
                "header From of domain " + domain_arg + ": " +
                    (flag_arg == "on" ? "any address" : "addresses the login owns"));
  }
  if (user_any_from->parsed()) {
    return done(
        d.set_allow_any_from(address, flag_arg == "on"),
        "header From of " + address + ": " + (flag_arg == "on" ? "any address" : "addresses the login owns"));
  }
  if (domain_remove->parsed()) return done(d.remove_domain(domain_arg), "removed domain " + domain_arg);
  if (domain_tls->parsed()) {
    return done(d.set_requires_tls(domain_arg, flag_arg == "on"),
                "inbound TLS for " + domain_arg + " is " + (flag_arg == "on" ? "required" : "optional"));
  }
  if (domain_limit->parsed() || user_limit->parsed()) {
    std::optional<uint32_t> per_hour;
    if (limit_arg != "default") per_hour = static_cast<uint32_t>(std::stoul(limit_arg));
    std::string shown =
        per_hour ? (*per_hour == 0 ? "unlimited" : std::to_string(*per_hour) + " messages per hour")
                 : "the configured default";
    if (domain_limit->parsed()) {
      return done(d.set_domain_send_limit(domain_arg, per_hour),
                  "sending limit of domain " + domain_arg + ": " + shown);
    }
    return done(d.set_send_limit(address, per_hour), "sending limit of " + address + ": " + shown);
  }
  if (domain_list->parsed()) {
    auto l = d.list_domains();
    if (!l) return fail(l.error().message);
    // SEND_PER_HOUR stays the last column: scripts read it there.
    std::printf("%-40s  %-8s  %s\n", "DOMAIN", "ANY_FROM", "SEND_PER_HOUR");
    for (const auto& x : l.value()) {
      auto limit = d.domain_send_limit(x);
      if (!limit) return fail(limit.error().message);
      auto any = d.domain_allows_any_from(x);
      if (!any) return fail(any.error().message);
      std::printf("%-40s  %-8s  %s\n", x.c_str(), any.value() ? "yes" : "no",
                  limit_text(limit.value()).c_str());
    }
    return 0;
  }

  if (user_add->parsed() || user_passwd->parsed()) {
    bool generated = !password_stdin;
    std::string pw = generated ? directory::generate_password() : read_password_stdin();
    Result<void> r;
    if (user_add->parsed()) {
      auto a = directory::parse_new_address(address);
      if (!a) return fail(a.error().message);
      directory::Account acct{a->local, a->domain, "", quota, true, send_only};
      r = d.add_account(acct, pw);
      if (r && generated) std::printf("password for %s: %s\n", address.c_str(), pw.c_str());
      if (!r) return fail(r.error().message);
      std::printf("added account %s\n", address.c_str());
      // The domain's postmaster, and with the instance's first account the
      // postmaster of every domain added before any account existed.
      auto all = d.list_accounts("");
      if (!all) return fail(all.error().message);
      std::vector<std::string> domains{a->domain};
      if (all->size() == 1) {
        auto l = d.list_domains();
        if (!l) return fail(l.error().message);
        domains = l.value();
      }
      for (const auto& dom : domains)
        if (int rc = report_postmaster(d, dom, false); rc != 0) return rc;
      return 0;
    }
    r = d.set_password(address, pw);
    if (r && generated) std::printf("password for %s: %s\n", address.c_str(), pw.c_str());
    return done(r, "changed the password of " + address);
  }
  if (user_enable->parsed()) return done(d.set_enabled(address, true), "enabled " + address);
  if (user_disable->parsed()) return done(d.set_enabled(address, false), "disabled " + address);
  if (user_remove->parsed()) return done(d.remove_account(address), "removed account " + address);
  if (user_list->parsed()) {
    auto l = d.list_accounts(list_domain);
    if (!l) return fail(l.error().message);
    // SEND_PER_HOUR stays the last column: scripts read it there.
    std::printf("%-40s  %8s  %-7s  %-9s  %-8s  %s\n", "ADDRESS", "QUOTA_MB", "ENABLED", "SEND_ONLY",
                "ANY_FROM", "SEND_PER_HOUR");
    for (const auto& a : l.value()) {
      auto limit = d.send_limit(a.address());
      if (!limit) return fail(limit.error().message);
      auto any = d.allows_any_from(a.address());
      if (!any) return fail(any.error().message);
      std::printf("%-40s  %8llu  %-7s  %-9s  %-8s  %s\n", a.address().c_str(),
                  static_cast<unsigned long long>(a.quota_mb), a.enabled ? "yes" : "no",
                  a.send_only ? "yes" : "no", any.value() ? "yes" : "no", limit_text(limit.value()).c_str());
    }
    return 0;
  }

  if (alias_add->parsed()) {
    if (alias_force) {
      auto acct = d.find_account(source);
      if (acct && acct.value()) {
        std::fprintf(stderr, "mailfort: warning: %s is an account; this alias takes all its mail (--force)\n",
                     source.c_str());
      }
    }
    return done(d.add_alias(source, dest, alias_force), "added alias " + source + " -> " + dest);
  }
  if (alias_remove->parsed())
    return done(d.remove_alias(source, dest), "removed alias " + source + " -> " + dest);
  if (alias_list->parsed()) {
    auto l = d.list_aliases(list_domain);
    if (!l) return fail(l.error().message);
    std::printf("%-40s  %-40s  %s\n", "SOURCE", "DESTINATION", "ENABLED");
    for (const auto& a : l.value()) {
      std::printf("%-40s  %-40s  %s\n", a.source().c_str(), a.destination().c_str(),
                  a.enabled ? "yes" : "no");
    }
    return 0;
  }

  if (tlsp_set->parsed()) {
    return done(d.set_tls_policy({domain_arg, policy, params}),
                "tls policy for " + domain_arg + ": " + policy);
  }
  if (tlsp_remove->parsed())
    return done(d.remove_tls_policy(domain_arg), "removed tls policy for " + domain_arg);
  if (tlsp_list->parsed()) {
    auto l = d.list_tls_policies();
    if (!l) return fail(l.error().message);
    std::printf("%-40s  %-12s  %s\n", "DOMAIN", "POLICY", "PARAMS");
    for (const auto& p : l.value())
      std::printf("%-40s  %-12s  %s\n", p.domain.c_str(), p.policy.c_str(), p.params.c_str());
    return 0;
  }
  return fail("nothing to do (see --help)");
}

}  // namespace mailfort::cli
