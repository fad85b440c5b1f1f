// The `mailfort auth` group: one add_auth_<name>_command() per subcommand,
// each in its own file, all attached to the group by add_auth_commands()
// (auth_commands.cpp).
#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace mailfort::cli {

struct CliContext;

// mailfort auth check [--ip IP] [--helo NAME] [--sender ADDR] [--rcpt ADDR] [--json] MESSAGE|-
void add_auth_check_command(CLI::App& auth, CliContext& ctx);

}  // namespace mailfort::cli
