// PLACEHOLDER: replaced by the CLI helper.
#include "cli/commands.h"

namespace mailfort::cli {

void add_import_commands(CLI::App& app, CliContext& ctx) {}

}  // namespace mailfort::cli
