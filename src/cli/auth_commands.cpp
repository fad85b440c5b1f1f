// The `auth` group: its subcommands live in auth_<name>_command.cpp.
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth = app.add_subcommand("auth", "Verify mail authentication (SPF, DKIM, DMARC, ARC) by hand");
  auth->require_subcommand(1);
  add_auth_dkim_command(*auth, ctx);
  add_auth_arc_command(*auth, ctx);
}

}  // namespace mailfort::cli
