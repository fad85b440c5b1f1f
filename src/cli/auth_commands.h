// Inside src/cli: the `mailfort auth` group (mail authentication checks and
// tools). auth_commands.cpp creates the group; each tool adds itself from
// its own file.
#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace mailfort::cli {

struct CliContext;

void add_auth_arc_command(CLI::App& auth, CliContext& ctx);  // auth arc, auth arc-seal

}  // namespace mailfort::cli
