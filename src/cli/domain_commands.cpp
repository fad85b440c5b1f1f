// mailfort domain add|remove|list|allow-any-from|require-tls|limit
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "base/text.h"
#include "cli/commands.h"

namespace mailfort::cli {
namespace {

struct DomainArgs {
  std::string domain;
  std::string state;  // on|off
  std::string limit;  // N|default
};

int list_domains(directory::Directory& d) {
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
                send_limit_column(limit.value()).c_str());
  }
  return 0;
}

}  // namespace

void add_domain_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<DomainArgs>();
  auto* domain_cmd = app.add_subcommand("domain", "Manage mail domains");
  domain_cmd->require_subcommand(1);

  auto* add = domain_cmd->add_subcommand(
      "add",
      "Add a domain. Also adds the alias postmaster@DOMAIN (RFC 5321 4.5.1) to the domain's first account, "
      "or else the instance's first account (the admin); with no account yet, `user add` adds it later");
  add->add_option("DOMAIN", a->domain)->required();
  on_directory(add, ctx, [a](AdminContext& admin) {
    auto& d = *admin.dir;
    if (auto r = d.add_domain(a->domain); !r) return fail(r.error().message);
    std::printf("added domain %s\n", a->domain.c_str());
    return report_postmaster(d, to_lower(a->domain), true);
  });

  auto* remove = domain_cmd->add_subcommand("remove", "Remove a domain (refused while in use)");
  remove->add_option("DOMAIN", a->domain)->required();
  on_directory(remove, ctx, [a](AdminContext& admin) {
    return done(admin.dir->remove_domain(a->domain), "removed domain " + a->domain);
  });

  auto* list = domain_cmd->add_subcommand("list", "List domains");
  on_directory(list, ctx, [](AdminContext& admin) { return list_domains(*admin.dir); });

  auto* any_from = domain_cmd->add_subcommand(
      "allow-any-from",
      "Let every account of DOMAIN write any address in the header From/Sender (default off: only "
      "addresses the login owns; [smtp] enforce_header_from)");
  any_from->add_option("DOMAIN", a->domain)->required();
  any_from->add_option("STATE", a->state, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  on_directory(any_from, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_domain_allow_any_from(a->domain, a->state == "on"),
                "header From of domain " + a->domain + ": " +
                    (a->state == "on" ? "any address" : "addresses the login owns"));
  });

  auto* require_tls = domain_cmd->add_subcommand("require-tls", "Refuse inbound mail for DOMAIN without TLS");
  require_tls->add_option("DOMAIN", a->domain)->required();
  require_tls->add_option("STATE", a->state, "on or off")->required()->check(CLI::IsMember({"on", "off"}));
  on_directory(require_tls, ctx, [a](AdminContext& admin) {
    return done(admin.dir->set_requires_tls(a->domain, a->state == "on"),
                "inbound TLS for " + a->domain + " is " + (a->state == "on" ? "required" : "optional"));
  });

  auto* limit = domain_cmd->add_subcommand(
      "limit",
      "Messages per hour all accounts of DOMAIN may send together (overrides [limits] "
      "send_per_hour_domain; 0 = unlimited, default = the config's)");
  limit->add_option("DOMAIN", a->domain)->required();
  limit->add_option("LIMIT", a->limit, "N or default")->required()->check(send_limit_validator());
  on_directory(limit, ctx, [a](AdminContext& admin) {
    auto per_hour = parse_send_limit(a->limit);
    return done(admin.dir->set_domain_send_limit(a->domain, per_hour),
                "sending limit of domain " + a->domain + ": " + send_limit_set_text(per_hour));
  });
}

}  // namespace mailfort::cli
