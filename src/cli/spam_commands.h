// The `spam` group (spam filtering): each subcommand registers itself on
// the group from its own file, with one call in add_spam_commands().
#pragma once
#include <string>
#include <vector>

namespace CLI {
class App;
}  // namespace CLI
namespace mailfort::directory {
class Directory;
}

namespace mailfort::cli {

struct CliContext;

// The single local mailbox of the recipients (the per-user Bayes
// statistics, as the SMTP layer picks them), else "". Blocking.
std::string spam_bayes_user(directory::Directory& dir, const std::vector<std::string>& rcpts);

void add_spam_check_command(CLI::App& spam, CliContext& ctx);  // spam_check_command.cpp: spam check
void add_spam_learn_command(CLI::App& spam, CliContext& ctx);  // spam_learn_command.cpp: spam learn
// spam_stats_commands.cpp: spam stats, spam history
void add_spam_stats_commands(CLI::App& spam, CliContext& ctx);
// spam_bench_command.cpp: spam bench (bench/spam_scan)
void add_spam_bench_command(CLI::App& spam, CliContext& ctx);

}  // namespace mailfort::cli
