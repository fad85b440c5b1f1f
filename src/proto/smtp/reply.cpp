#include "proto/smtp/reply.h"

namespace mailfort::proto::smtp {
namespace {

void append_text(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(c == '\r' || c == '\n' || c == '\0' ? ' ' : c);
}

}  // namespace

std::string format_reply(int code, std::string_view enhanced, const std::vector<std::string>& lines) {
  std::string out;
  std::string code_text = std::to_string(code);
  for (std::size_t i = 0; i < lines.size() || (i == 0 && lines.empty()); ++i) {
    bool last = i + 1 >= lines.size();
    out += code_text;
    out.push_back(last ? ' ' : '-');
    if (!enhanced.empty()) {
      out.append(enhanced);
      out.push_back(' ');
    }
    if (i < lines.size()) append_text(out, lines[i]);
    out += "\r\n";
    if (lines.empty()) break;
  }
  return out;
}

std::string format_reply(int code, std::string_view enhanced, std::string_view line) {
  return format_reply(code, enhanced, std::vector<std::string>{std::string(line)});
}

}  // namespace mailfort::proto::smtp
