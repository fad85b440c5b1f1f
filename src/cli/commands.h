// Inside src/cli: what the subcommand groups share. Each group
// (<group>_commands.cpp) declares its subcommands on the app in one
// add_<group>_commands() and attaches each one's handler with on_parsed()
// (or on_admin()/on_directory()); run() (commands.cpp) builds the app, adds
// every group, parses, and runs the handler of the subcommand that was
// parsed. CLI11 stays out of this header: it names CLI::App only.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "base/config.h"
#include "base/result.h"
#include "directory/directory.h"

namespace CLI {
class App;
class Validator;
}  // namespace CLI

namespace mailfort::dns {
class Resolver;
}  // namespace mailfort::dns

namespace mailfort::cli {

struct CliContext {
  std::string config_path;       // -c/--config, read when the handler runs
  std::function<int()> handler;  // the parsed subcommand's; its result is the exit code
};

// The config (loaded, run_as dropped to, so files SQLite creates stay the
// server's) and, for on_directory(), the open directory.
struct AdminContext {
  config::Config cfg;
  std::unique_ptr<directory::Directory> dir;
};

// Makes `handler` the one run() calls after parsing when `cmd` is parsed.
void on_parsed(CLI::App* cmd, CliContext& ctx, std::function<int()> handler);
// The same, with the AdminContext opened first (exit 1 if that fails):
// on_admin() without the directory, on_directory() with it.
void on_admin(CLI::App* cmd, CliContext& ctx, std::function<int(AdminContext&)> handler);
void on_directory(CLI::App* cmd, CliContext& ctx, std::function<int(AdminContext&)> handler);

// The groups, in the order `mailfort --help` lists them.
void add_server_commands(CLI::App& app, CliContext& ctx);  // init, serve, check, config-reference
void add_domain_commands(CLI::App& app, CliContext& ctx);
void add_user_commands(CLI::App& app, CliContext& ctx);
void add_alias_commands(CLI::App& app, CliContext& ctx);
void add_tls_policy_commands(CLI::App& app, CliContext& ctx);
void add_ban_commands(CLI::App& app, CliContext& ctx);
void add_access_commands(CLI::App& app, CliContext& ctx);
void add_queue_commands(CLI::App& app, CliContext& ctx);
void add_resolve_commands(CLI::App& app, CliContext& ctx);
void add_dkim_commands(CLI::App& app, CliContext& ctx);
void add_dns_commands(CLI::App& app, CliContext& ctx);
void add_auth_commands(CLI::App& app, CliContext& ctx);  // auth_commands.cpp: spf, check, ...
void add_tlsrpt_commands(CLI::App& app, CliContext& ctx);
void add_spam_commands(CLI::App& app, CliContext& ctx);  // spam_commands.cpp: check, learn, stats, history
void add_sieve_commands(CLI::App& app, CliContext& ctx);  // sieve_commands.cpp: check, test, list, get, put, ...
void add_import_commands(CLI::App& app, CliContext& ctx);  // import_commands.cpp: Pigeonhole script directories
void add_directory_commands(CLI::App& app, CliContext& ctx);  // directory_commands.cpp: init-schema, migrate

// Helpers shared by the groups.
// One line "mailfort: MSG" on stderr; returns the exit code 1.
int fail(const std::string& msg);
// `ok_line` on stdout and 0, or fail() with the error.
int done(const Result<void>& r, const std::string& ok_line);
// The config, or nullopt after printing its problems.
std::optional<config::Config> load_config(const std::string& path);
std::string iso_time(int64_t t);
// A resolver as [dns] configures it (the server's settings).
Result<std::shared_ptr<dns::Resolver>> open_resolver(const config::Config& cfg);
// RFC 5321 4.5.1: every domain has a postmaster (Directory::ensure_postmaster).
// `note_missing`: say so when no account exists yet to point it to.
int report_postmaster(directory::Directory& d, const std::string& domain, bool note_missing);

// Sending-limit overrides (`domain limit`, `user limit`): the LIMIT argument
// is N (0 = unlimited) or "default".
CLI::Validator send_limit_validator();
std::optional<uint32_t> parse_send_limit(const std::string& arg);   // "default" = nullopt
std::string send_limit_set_text(std::optional<uint32_t> per_hour);  // as the set commands confirm it
std::string send_limit_column(std::optional<uint32_t> per_hour);    // as the list commands show it

}  // namespace mailfort::cli
