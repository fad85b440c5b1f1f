// The command tree. Thin: parse arguments, call a service, print one line or
// a table; errors are one line on stderr and a non-zero exit. Each group of
// subcommands declares itself and its handlers in <group>_commands.cpp
// (commands.h); run() only builds the app from them, parses and runs the
// parsed subcommand's handler.
#include "cli/commands.h"

#include <sys/stat.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "base/privileges.h"
#include "base/text.h"
#include "cli/cli.h"
#include "directory/open.h"
#include "dns/resolver.h"

namespace mailfort::cli {
namespace {

std::string default_config_path() {
  const char* env = std::getenv("MAILFORT_CONFIG");
  return env && *env ? env : "/etc/mailfort/mailfort.toml";
}

std::optional<AdminContext> admin_context(const std::string& path, bool open_directory) {
  auto cfg = load_config(path);
  if (!cfg) return std::nullopt;
  if (auto r = drop_privileges(cfg->run_as); !r) {
    fail(r.error().message);
    return std::nullopt;
  }
  AdminContext ctx{std::move(*cfg), nullptr};
  if (open_directory) {
    auto d = directory::open_directory(ctx.cfg);
    if (!d) {
      fail(d.error().message);
      return std::nullopt;
    }
    ctx.dir = std::move(d.value());
  }
  return ctx;
}

void on_admin_context(CLI::App* cmd, CliContext& ctx, bool open_directory,
                      std::function<int(AdminContext&)> handler) {
  on_parsed(cmd, ctx, [&ctx, open_directory, handler = std::move(handler)] {
    auto admin = admin_context(ctx.config_path, open_directory);
    if (!admin) return 1;
    return handler(*admin);
  });
}

}  // namespace

void on_parsed(CLI::App* cmd, CliContext& ctx, std::function<int()> handler) {
  // CLI11 runs the callback of the parsed subcommand once parsing and its
  // checks are complete; the handler itself runs in run(), outside CLI11.
  cmd->callback([&ctx, handler = std::move(handler)] { ctx.handler = handler; });
}

void on_admin(CLI::App* cmd, CliContext& ctx, std::function<int(AdminContext&)> handler) {
  on_admin_context(cmd, ctx, false, std::move(handler));
}

void on_directory(CLI::App* cmd, CliContext& ctx, std::function<int(AdminContext&)> handler) {
  on_admin_context(cmd, ctx, true, std::move(handler));
}

Result<std::shared_ptr<dns::Resolver>> open_resolver(const config::Config& cfg) {
  return dns::Resolver::create({cfg.dns.resolvers, cfg.dns.recursion, cfg.dns.trust_anchor});
}

int fail(const std::string& msg) {
  std::fprintf(stderr, "mailfort: %s\n", msg.c_str());
  return 1;
}

int done(const Result<void>& r, const std::string& ok_line) {
  if (!r) return fail(r.error().message);
  std::printf("%s\n", ok_line.c_str());
  return 0;
}

std::optional<config::Config> load_config(const std::string& path) {
  auto r = config::load_file(path);
  if (!r.config) {
    for (const auto& p : r.problems) std::fprintf(stderr, "%s\n", p.to_string().c_str());
    return std::nullopt;
  }
  return std::move(*r.config);
}

std::string iso_time(int64_t t) {
  std::time_t tt = t;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

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

CLI::Validator send_limit_validator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        if (v == "default") return "";
        if (v.empty() || v.size() > 8 || v.find_first_not_of("0123456789") != std::string::npos)
          return "must be a number of messages per hour (0 = unlimited) or 'default'";
        return "";
      },
      "N|default");
}

std::optional<uint32_t> parse_send_limit(const std::string& arg) {
  if (arg == "default") return std::nullopt;
  return static_cast<uint32_t>(std::stoul(arg));
}

std::string send_limit_set_text(std::optional<uint32_t> per_hour) {
  return per_hour ? (*per_hour == 0 ? "unlimited" : std::to_string(*per_hour) + " messages per hour")
                  : "the configured default";
}

std::string send_limit_column(std::optional<uint32_t> per_hour) {
  if (!per_hour) return "default";
  return *per_hour == 0 ? "unlimited" : std::to_string(*per_hour);
}

int run(int argc, char** argv) {
  // Files we create (databases with password hashes, keys) are never world-readable.
  ::umask(027);
  CLI::App app{"Mailfort: an all-in-one secure mail server"};
  app.set_version_flag("--version", "mailfort 0.1.0");
  app.require_subcommand(1);
  CliContext ctx{default_config_path(), {}};
  app.add_option("-c,--config", ctx.config_path,
                 "Config file (default $MAILFORT_CONFIG or /etc/mailfort/mailfort.toml)");

  add_server_commands(app, ctx);
  add_domain_commands(app, ctx);
  add_user_commands(app, ctx);
  add_alias_commands(app, ctx);
  add_tls_policy_commands(app, ctx);
  add_ban_commands(app, ctx);
  add_access_commands(app, ctx);
  add_queue_commands(app, ctx);
  add_resolve_commands(app, ctx);
  add_dkim_commands(app, ctx);
  add_dns_commands(app, ctx);
  add_auth_commands(app, ctx);
  add_spam_commands(app, ctx);
  add_sieve_commands(app, ctx);
  add_import_commands(app, ctx);
  add_directory_commands(app, ctx);
  add_tlsrpt_commands(app, ctx);

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
  if (!ctx.handler) return fail("nothing to do (see --help)");
  return ctx.handler();
}

}  // namespace mailfort::cli
