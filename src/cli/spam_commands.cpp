#include "cli/spam_commands.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"

namespace mailfort::cli {

void add_spam_commands(CLI::App& app, CliContext& ctx) {
  auto* spam =
      app.add_subcommand("spam", "Spam filtering: score a message, train Bayes, statistics and history");
  spam->require_subcommand(1);
  add_spam_check_command(*spam, ctx);
  add_spam_learn_command(*spam, ctx);
  add_spam_stats_commands(*spam, ctx);
  add_spam_bench_command(*spam, ctx);
}

}  // namespace mailfort::cli
