// The `auth` group (mail authentication): each subcommand registers itself
// on the group from its own file, with one call in add_auth_commands().
#pragma once
#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace mailfort::config {
struct Config;
}
namespace mailfort::auth {
class DnsSource;
struct Verdict;
}  // namespace mailfort::auth

namespace mailfort::cli {

struct CliContext;

// SPF, DKIM, DMARC and ARC of a message file as the MX would find them
// (auth_commands.cpp): the message fed in pieces as a session feeds it;
// no envelope sender means no SPF. For auth check, spam check, spam bench.
auth::Verdict mx_verdict(const config::Config& cfg, auth::DnsSource& dns, std::string_view message,
                         const std::string& ip, const std::string& helo, const std::string& sender);

void add_auth_spf_command(CLI::App& auth, CliContext& ctx);     // auth_spf_command.cpp
void add_auth_check_command(CLI::App& auth, CliContext& ctx);   // auth_check_command.cpp
void add_auth_arc_command(CLI::App& auth, CliContext& ctx);     // auth arc, auth arc-seal
void add_auth_dkim_command(CLI::App& auth, CliContext& ctx);    // auth_dkim_command.cpp
void add_auth_report_command(CLI::App& auth, CliContext& ctx);  // auth report send (DMARC aggregate reports)

}  // namespace mailfort::cli
