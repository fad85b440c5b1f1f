// SMTP replies (RFC 5321 4.2) with enhanced status codes (RFC 3463, RFC 2034).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::smtp {

// One reply as the server decides it: code, enhanced status code, text.
struct Reply {
  int code = 250;
  std::string enhanced = "2.0.0";
  std::string text = "Ok";
  bool ok() const { return code < 400; }
};

// "250-first\r\n250-second\r\n250 last\r\n"; the enhanced code (e.g. "2.0.0",
// may be empty for 220/221 greetings and EHLO lines) prefixes every line.
// CR and LF inside texts are replaced so a reply can never be split.
std::string format_reply(int code, std::string_view enhanced, const std::vector<std::string>& lines);
std::string format_reply(int code, std::string_view enhanced, std::string_view line);

}  // namespace mailfort::proto::smtp
