// mailfort auth ...: inbound mail authentication (SPF, DKIM, DMARC, ARC).
#include "cli/auth_commands.h"

#include <CLI/CLI.hpp>

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx) {
  auto* auth = app.add_subcommand("auth", "Inbound mail authentication (SPF, DKIM, DMARC, ARC)");
  auth->require_subcommand(1);
  add_auth_report_command(*auth, ctx);
}

}  // namespace mailfort::cli
