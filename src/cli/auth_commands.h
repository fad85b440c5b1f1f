// mailfort auth ...: mail authentication (issue 12) run by hand on a
// message or an address, with the configured [dns] resolvers. Each
// subcommand adds itself to the `auth` group in its own file.
#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace mailfort::cli {

struct CliContext;

// auth dkim [--json] MESSAGE|-   (auth_dkim_command.cpp)
void add_auth_dkim_command(CLI::App& auth, CliContext& ctx);
// auth arc [--json] MESSAGE|-, auth arc-seal ...   (auth_arc_command.cpp)
void add_auth_arc_command(CLI::App& auth, CliContext& ctx);

}  // namespace mailfort::cli
