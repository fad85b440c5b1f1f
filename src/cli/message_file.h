// The message argument of the `auth` commands: a file, or "-" for standard
// input. Files on disk usually end lines in LF; the wire (and DKIM, ARC)
// uses CRLF, so every bare LF becomes CRLF, as the message would arrive.
#pragma once
#include <optional>
#include <string>

namespace mailfort::cli {

std::optional<std::string> read_message_file(const std::string& path);

}  // namespace mailfort::cli
