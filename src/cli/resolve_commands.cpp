// mailfort resolve NAME [TYPE]: a DNS lookup through the configured resolvers.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "dns/resolver.h"

namespace mailfort::cli {
namespace {

struct ResolveArgs {
  std::string name;
  std::string type = "A";
};

int resolve(const std::string& config_path, const ResolveArgs& a) {
  auto cfg = load_config(config_path);
  if (!cfg) return 1;
  auto type = dns::parse_type(a.type);
  if (!type) return fail(type.error().message);
  auto resolver = open_resolver(*cfg);
  if (!resolver) return fail(resolver.error().message);
  auto answer = type.value() == dns::Type::PTR ? resolver.value()->query_ptr(a.name)
                                               : resolver.value()->query(a.name, type.value());
  std::printf("status=%s secure=%s\n", dns::status_name(answer.status), answer.secure ? "yes" : "no");
  for (const auto& t : answer.text)
    std::printf("%s %s %s\n", a.name.c_str(), dns::type_name(type.value()), t.c_str());
  if (answer.status == dns::Answer::Status::Bogus) std::printf("why: %s\n", answer.why_bogus.c_str());
  return answer.status == dns::Answer::Status::Ok ? 0 : 1;
}

}  // namespace

void add_resolve_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<ResolveArgs>();
  auto* resolve_cmd = app.add_subcommand("resolve", "Look up DNS records through the configured resolvers");
  resolve_cmd->add_option("NAME", a->name)->required();
  resolve_cmd->add_option("TYPE", a->type, "A AAAA MX TXT TLSA PTR CNAME NS (default A)");
  on_parsed(resolve_cmd, ctx, [&ctx, a] { return resolve(ctx.config_path, *a); });
}

}  // namespace mailfort::cli
