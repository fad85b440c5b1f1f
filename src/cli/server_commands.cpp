// init, serve, check and the hidden config-reference: the commands that
// create, run and validate an instance.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "base/config.h"
#include "base/privileges.h"
#include "cli/commands.h"
#include "cli/instance.h"
#include "filter/rules.h"
#include "postscreen/postscreen.h"
#include "server/server.h"
#include "tls/certs.h"

namespace mailfort::cli {
namespace {

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
    for (const auto& [key, message] : postscreen::config_problems(c.inbound)) {
      problems.push_back({path, c.line_of(key), message});
    }
    std::vector<filter::RuleProblem> rule_problems;  // the serve would log them and skip those rules
    (void)filter::load_rule_files(c.spam.rules, rule_problems);
    for (const auto& p : rule_problems) {
      if (p.line > 0)
        problems.push_back({p.file, p.line, p.message});
      else
        problems.push_back({path, c.line_of("spam.rules"), p.file + ": " + p.message});
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

}  // namespace

void add_server_commands(CLI::App& app, CliContext& ctx) {
  auto init = std::make_shared<InitOptions>();
  auto* init_cmd = app.add_subcommand("init", "Create a new instance: config, data, certificate, directory");
  init_cmd->add_option("--dir", init->dir, "Instance directory")->required();
  init_cmd->add_option("--hostname", init->hostname, "Fully qualified host name of this server")->required();
  init_cmd->add_option("--domain", init->domain, "First mail domain")->required();
  init_cmd->add_flag("--dev", init->dev, "Bind 127.0.0.1 on unprivileged ports (2525, 2587, 2465, ...)");
  init_cmd->add_option("--cert", init->cert, "Existing certificate chain (PEM)");
  init_cmd->add_option("--key", init->key, "Key of --cert (PEM)");
  init_cmd->add_flag("--force", init->force, "Overwrite an existing config file");
  on_parsed(init_cmd, ctx, [init] { return run_init(*init); });

  auto* serve_cmd = app.add_subcommand("serve", "Run the server in the foreground");
  on_parsed(serve_cmd, ctx, [&ctx] { return server::serve(ctx.config_path); });

  auto* check_cmd = app.add_subcommand("check", "Validate the config and the files it names");
  on_parsed(check_cmd, ctx, [&ctx] { return run_check(ctx.config_path); });

  auto* ref_cmd = app.add_subcommand("config-reference", "Print docs/configuration.md");
  ref_cmd->group("");  // hidden
  on_parsed(ref_cmd, ctx, [] {
    std::fputs(config::reference_markdown().c_str(), stdout);
    return 0;
  });
}

}  // namespace mailfort::cli
