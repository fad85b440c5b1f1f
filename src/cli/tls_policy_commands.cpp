// mailfort tls-policy set|remove|list: outbound TLS policy per recipient domain
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace mailfort::cli {
namespace {

struct TlsPolicyArgs {
  std::string domain;
  std::string policy;
  std::string params;
};

int list_policies(directory::Directory& d) {
  auto l = d.list_tls_policies();
  if (!l) return fail(l.error().message);
  std::printf("%-40s  %-12s  %s\n", "DOMAIN", "POLICY", "PARAMS");
  for (const auto& p : l.value())
    std::printf("%-40s  %-12s  %s\n", p.domain.c_str(), p.policy.c_str(), p.params.c_str());
  return 0;
}

}  // namespace

void add_tls_policy_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<TlsPolicyArgs>();
  auto* tlsp_cmd = app.add_subcommand("tls-policy", "Outbound TLS policy per recipient domain");
  tlsp_cmd->require_subcommand(1);

  auto* set = tlsp_cmd->add_subcommand(
      "set", "Set a policy: none may encrypt dane dane-only fingerprint verify secure");
  set->add_option("DOMAIN", a->domain)->required();
  set->add_option("POLICY", a->policy)->required();
  set->add_option("PARAMS", a->params, "e.g. match=.gmx.net:.gmx.ch");
  on_directory(set, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_tls_policy({a->domain, a->policy, a->params}),
                "tls policy for " + a->domain + ": " + a->policy);
  });

  auto* remove = tlsp_cmd->add_subcommand("remove", "Remove a policy");
  remove->add_option("DOMAIN", a->domain)->required();
  on_directory(remove, ctx, [a](AdminContext& admin) {
    return done(admin.dir->remove_tls_policy(a->domain), "removed tls policy for " + a->domain);
  });

  auto* list = tlsp_cmd->add_subcommand("list", "List policies");
  on_directory(list, ctx, [](AdminContext& admin) { return list_policies(*admin.dir); });
}

}  // namespace mailfort::cli
