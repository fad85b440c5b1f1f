// mailfort access add|remove|list: the access lists of the directory
// (directory/access.h). The server reads them on every connection and MAIL
// FROM, so a change applies at once.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

#include "cli/commands.h"

namespace mailfort::cli {
namespace {

struct AccessArgs {
  std::string entry;
  std::string action;
};

const char* kEntryHelp = "Client IP or CIDR (192.0.2.0/24), sender address (user@example.org) or @domain";

int add_access(directory::Directory& d, const AccessArgs& a) {
  auto action = directory::parse_access_action(a.action);
  if (!action) return fail("action must be permit or reject, not '" + a.action + "'");
  auto normalized = directory::normalize_access_entry(a.entry);
  std::string shown = normalized ? *normalized : a.entry;
  return done(d.add_access(a.entry, *action),
              "added access " + shown + " " + directory::access_action_name(*action));
}

int remove_access(directory::Directory& d, const AccessArgs& a) {
  if (!a.action.empty()) {
    // "access remove ENTRY ACTION" as printed by list: the action must match.
    auto action = directory::parse_access_action(a.action);
    if (!action) return fail("action must be permit or reject, not '" + a.action + "'");
    auto normalized = directory::normalize_access_entry(a.entry);
    auto list = d.list_access();
    if (!list) return fail(list.error().message);
    bool found = false;
    for (const auto& e : list.value())
      if (normalized && e.entry == *normalized && e.action == *action) found = true;
    if (!found) return fail("no access entry '" + a.entry + " " + a.action + "'");
  }
  auto normalized = directory::normalize_access_entry(a.entry);
  return done(d.remove_access(a.entry), "removed access " + (normalized ? *normalized : a.entry));
}

int list_access(directory::Directory& d) {
  auto l = d.list_access();
  if (!l) return fail(l.error().message);
  std::printf("%-45s  %s\n", "ENTRY", "ACTION");
  for (const auto& e : l.value())
    std::printf("%-45s  %s\n", e.entry.c_str(), directory::access_action_name(e.action));
  return 0;
}

}  // namespace

void add_access_commands(CLI::App& app, CliContext& ctx) {
  auto a = std::make_shared<AccessArgs>();
  auto* access_cmd = app.add_subcommand(
      "access",
      "Access lists on MX listeners: permit (skip DNSBL, FCrDNS, greylisting) or reject (554 5.7.1)");
  access_cmd->require_subcommand(1);

  auto* add = access_cmd->add_subcommand("add", "Add an entry (or change its action)");
  add->add_option("ENTRY", a->entry, kEntryHelp)->required();
  add->add_option("ACTION", a->action, "permit or reject")->required();
  on_directory(add, ctx, [a](AdminContext& admin) { return add_access(*admin.dir, *a); });

  auto* remove = access_cmd->add_subcommand("remove", "Remove an entry");
  remove->add_option("ENTRY", a->entry, kEntryHelp)->required();
  remove->add_option("ACTION", a->action, "permit or reject (optional: must match when given)");
  on_directory(remove, ctx, [a](AdminContext& admin) { return remove_access(*admin.dir, *a); });

  auto* list = access_cmd->add_subcommand("list", "List the entries");
  on_directory(list, ctx, [](AdminContext& admin) { return list_access(*admin.dir); });
}

}  // namespace mailfort::cli
