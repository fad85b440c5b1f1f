// Inside src/cli: the `auth` group (inbound mail authentication). Each
// auth subcommand lives in its own file and adds itself to the group.
#pragma once
#include "cli/commands.h"

namespace mailfort::cli {

void add_auth_commands(CLI::App& app, CliContext& ctx);

// auth report send [--day] (auth_report_command.cpp)
void add_auth_report_command(CLI::App& auth, CliContext& ctx);

}  // namespace mailfort::cli
