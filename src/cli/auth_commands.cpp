// mailfort auth ...: mail authentication from the command line (SPF,
// message checks, DMARC reports). The subcommands live in auth_*_command.cpp.
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth = app.add_subcommand("auth", "Mail authentication: check a message, SPF, DMARC reports");
  auth->require_subcommand(1);
  add_auth_spf_command(*auth, ctx);
  add_auth_check_command(*auth, ctx);
  add_auth_dkim_command(*auth, ctx);
  add_auth_report_command(*auth, ctx);
  add_auth_arc_command(*auth, ctx);
}

}  // namespace mailfort::cli
