#include "cli/spam_commands.h"

#include <CLI/CLI.hpp>

#include <algorithm>

#include "cli/commands.h"
#include "directory/directory.h"

namespace mailfort::cli {

std::string spam_bayes_user(directory::Directory& dir, const std::vector<std::string>& rcpts) {
  std::vector<std::string> boxes;
  for (const auto& r : rcpts) {
    auto res = dir.resolve_recipient(r);
    if (!res || res.value().kind != directory::Resolution::Kind::Deliver) continue;
    for (const auto& m : res.value().mailboxes)
      if (std::find(boxes.begin(), boxes.end(), m) == boxes.end()) boxes.push_back(m);
  }
  return boxes.size() == 1 ? boxes.front() : "";
}

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
