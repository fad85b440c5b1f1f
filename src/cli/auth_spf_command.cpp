// mailfort auth spf --ip IP --helo NAME [--sender ADDR]: the SPF result
// (RFC 7208) for a client, through the configured resolvers. Prints the
// result word alone on the first line, then the explanation (exp=) if
// there is one; exit 0 for every SPF result.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <ctime>
#include <memory>

#include "auth/dns_source.h"
#include "auth/spf.h"
#include "cli/auth_commands.h"
#include "cli/commands.h"
#include "dns/resolver.h"

namespace mailfort::cli {
namespace {

struct SpfArgs {
  std::string ip;
  std::string helo;
  std::string sender;
};

int check_spf(const std::string& config_path, const SpfArgs& a) {
  auto cfg = load_config(config_path);
  if (!cfg) return 1;
  auto resolver = open_resolver(*cfg);
  if (!resolver) return fail(resolver.error().message);
  auto source = auth::resolver_source(resolver.value());
  auth::SpfRequest req;
  req.ip = a.ip;
  req.helo = a.helo;
  req.sender = a.sender;
  req.receiver = cfg->hostname;
  req.now = static_cast<int64_t>(std::time(nullptr));
  // No sender: the HELO identity (RFC 7208 2.3), which is also what the
  // null sender is checked as (2.4).
  auto out = auth::check_mail_from(*source, req);
  if (out.result == auth::SpfResult::PermError && out.problem.rfind("not an IP address", 0) == 0)
    return fail(out.problem);
  std::printf("%s\n", auth::spf_result_name(out.result));
  if (!out.explanation.empty()) std::printf("%s\n", out.explanation.c_str());
  if (!out.problem.empty()) std::fprintf(stderr, "%s: %s\n", out.identity.c_str(), out.problem.c_str());
  return 0;
}

}  // namespace

void add_auth_spf_command(CLI::App& auth, CliContext& ctx) {
  auto a = std::make_shared<SpfArgs>();
  auto* cmd = auth.add_subcommand("spf", "The SPF result (RFC 7208) for a client IP, HELO name and sender");
  cmd->add_option("--ip", a->ip, "Client IP address (IPv4 or IPv6)")->required();
  cmd->add_option("--helo", a->helo, "HELO/EHLO name")->required();
  cmd->add_option("--sender", a->sender,
                  "MAIL FROM address (default: the null sender, so the HELO identity)");
  on_parsed(cmd, ctx, [&ctx, a] { return check_spf(ctx.config_path, *a); });
}

}  // namespace mailfort::cli
