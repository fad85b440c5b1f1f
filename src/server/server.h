// The mail server runtime: binds every configured listener, drops privileges,
// runs one io_context per core plus a worker pool for blocking work, and
// serves until SIGTERM/SIGINT. SIGHUP reloads the TLS certificate and the
// settings that can change live (limits, log file).
#pragma once
#include <string>

namespace mailfort::server {

// Returns the process exit code. Prints start-up errors to stderr.
int serve(const std::string& config_path);

}  // namespace mailfort::server
