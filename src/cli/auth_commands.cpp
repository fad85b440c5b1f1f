// mailfort auth ...: inbound mail authentication by hand (SPF, DKIM, DMARC,
// ARC), the tools an admin reaches for when mail is refused or misfiled.
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth = app.add_subcommand("auth", "Inbound mail authentication: SPF, DKIM, DMARC and ARC checks");
  auth->require_subcommand(1);
  add_auth_check_command(*auth, ctx);
}

}  // namespace mailfort::cli
