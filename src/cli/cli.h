// The `mailfort` command line: init, serve, check and the admin commands.
#pragma once

namespace mailfort::cli {

int run(int argc, char** argv);

}  // namespace mailfort::cli
