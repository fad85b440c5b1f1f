// Logging: one line per event, "event key=value ..." to stderr or a file.
// Values that may carry secrets (passwords, AUTH payloads) are never passed
// here; log_value() quotes and escapes client-supplied strings so a client
// cannot forge log lines.
#pragma once
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace mailfort::log {

// Sets up the global logger; file empty = stderr. Returns false with err set.
bool init(const std::string& file, const std::string& level, std::string& err);
// Reopens the log file (after logrotate; called on SIGHUP).
void reopen();

// Quotes a client-supplied value: printable ASCII kept, others \xNN, max 200 chars.
std::string quote(std::string_view v);

}  // namespace mailfort::log
