// PLACEHOLDER (a helper replaces this file).
#include "cli/spam_commands.h"

namespace mailfort::cli {
void add_spam_bench_command(CLI::App&, CliContext&) {}
}  // namespace mailfort::cli
