// The `auth` group (mail authentication): each subcommand registers itself
// on the group from its own file, with one call in add_auth_commands().
#pragma once

namespace CLI {
class App;
}  // namespace CLI

namespace mailfort::cli {

struct CliContext;

void add_auth_spf_command(CLI::App& auth, CliContext& ctx);     // auth_spf_command.cpp
void add_auth_check_command(CLI::App& auth, CliContext& ctx);   // auth_check_command.cpp
void add_auth_arc_command(CLI::App& auth, CliContext& ctx);     // auth arc, auth arc-seal
void add_auth_dkim_command(CLI::App& auth, CliContext& ctx);    // auth_dkim_command.cpp
void add_auth_report_command(CLI::App& auth, CliContext& ctx);  // auth report send (DMARC aggregate reports)

}  // namespace mailfort::cli
