// mailfort auth ...: the group; its commands live in auth_*_command.cpp.
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth =
      app.add_subcommand("auth", "Check mail authentication (SPF, DKIM, DMARC, ARC) and seal with ARC");
  auth->require_subcommand(1);
  add_auth_arc_command(*auth, ctx);
}

}  // namespace mailfort::cli
