// mailfort alias add|remove|list
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace mailfort::cli {
namespace {

struct AliasArgs {
  std::string source;
  std::string dest;
  std::string list_domain;
  bool force = false;
};

int add_alias(directory::Directory& d, const AliasArgs& a) {
  if (a.force) {
    auto acct = d.find_account(a.source);
    if (acct && acct.value()) {
      std::fprintf(stderr, "mailfort: warning: %s is an account; this alias takes all its mail (--force)\n",
                   a.source.c_str());
    }
  }
  return done(d.add_alias(a.source, a.dest, a.force), "added alias " + a.source + " -> " + a.dest);
}

int list_aliases(directory::Directory& d, const std::string& domain) {
  auto l = d.list_aliases(domain);
  if (!l) return fail(l.error().message);
  std::printf("%-40s  %-40s  %s\n", "SOURCE", "DESTINATION", "ENABLED");
  for (const auto& x : l.value()) {
    std::printf("%-40s  %-40s  %s\n", x.source().c_str(), x.destination().c_str(), x.enabled ? "yes" : "no");
  }
  return 0;
}

}  // namespace

void add_alias_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<AliasArgs>();
  auto* alias_cmd = app.add_subcommand("alias", "Manage aliases (SOURCE @domain = catch-all)");
  alias_cmd->require_subcommand(1);

  auto* add = alias_cmd->add_subcommand(
      "add",
      "Add an alias. A SOURCE that is an account is refused (the alias would take all its mail) unless it "
      "keeps a copy (alias SOURCE to itself first) or --force");
  add->add_option("SOURCE", a->source)->required();
  add->add_option("DEST", a->dest)->required();
  add->add_flag("--force", a->force, "Add it even when SOURCE is an account that then gets no mail");
  on_directory(add, ctx, [a](AdminContext& admin) { return add_alias(*admin.dir, *a); });

  auto* remove = alias_cmd->add_subcommand("remove", "Remove an alias");
  remove->add_option("SOURCE", a->source)->required();
  remove->add_option("DEST", a->dest)->required();
  on_directory(remove, ctx, [a](AdminContext& admin) {
    return done(admin.dir->remove_alias(a->source, a->dest), "removed alias " + a->source + " -> " + a->dest);
  });

  auto* list = alias_cmd->add_subcommand("list", "List aliases");
  list->add_option("DOMAIN", a->list_domain);
  on_directory(list, ctx, [a](AdminContext& admin) { return list_aliases(*admin.dir, a->list_domain); });
}

}  // namespace mailfort::cli
