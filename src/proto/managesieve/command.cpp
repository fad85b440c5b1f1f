// ManageSieve command parsing and responses (see command.h; RFC 5804 4).
#include "proto/managesieve/command.h"

#include <algorithm>
#include <cctype>

namespace mailfort::proto::managesieve {
namespace {

bool is_atom_char(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

void CommandParser::reset() {
  command_ = Command{};
  started_ = false;
  used_ = 0;
  literal_size_ = 0;
  literal_too_big_ = false;
}

CommandParser::Status CommandParser::fail(std::string why) {
  bool too_big = literal_too_big_;
  std::size_t size = literal_size_;
  reset();
  literal_too_big_ = too_big;  // the session still needs to know
  literal_size_ = too_big ? size : 0;
  error_ = std::move(why);
  return Status::Error;
}

CommandParser::Status CommandParser::feed_line(std::string_view line) {
  if (!started_) {
    reset();
    error_.clear();
  }
  used_ += line.size() + 2;
  if (used_ > limits_.max_command) return fail("Command too long");
  std::size_t i = 0;
  if (!started_) {
    started_ = true;
    while (i < line.size() && is_atom_char(line[i])) ++i;
    if (i == 0) return fail("Expected a command name");
    if (i > 32) return fail("Command name too long");
    for (std::size_t k = 0; k < i; ++k)
      command_.name.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(line[k]))));
  } else if (!line.empty() && line[0] != ' ') {
    return fail("Expected a space after a literal");
  }
  while (i < line.size()) {
    if (line[i] != ' ') return fail("Expected a space between arguments");
    ++i;
    if (i >= line.size()) return fail("Trailing space");
    if (command_.args.size() >= limits_.max_args) return fail("Too many arguments");
    char c = line[i];
    if (c == '"') {
      Argument a;
      ++i;
      bool closed = false;
      while (i < line.size()) {
        char d = line[i++];
        if (d == '"') {
          closed = true;
          break;
        }
        if (d == '\\') {
          if (i >= line.size() || (line[i] != '\\' && line[i] != '"')) return fail("Bad escape in a string");
          d = line[i++];
        } else if (d == '\0' || d == '\r' || d == '\n') {
          return fail("Control character in a string");
        }
        a.text.push_back(d);
      }
      if (!closed) return fail("Unterminated string");
      command_.args.push_back(std::move(a));
    } else if (c == '{') {
      auto close = line.find('}', i);
      if (close == std::string_view::npos || close + 1 != line.size())
        return fail("A literal must end the line");
      std::string_view n = line.substr(i + 1, close - i - 1);
      if (!n.empty() && n.back() == '+') n.remove_suffix(1);
      if (n.empty() || n.size() > 10) return fail("Bad literal size");
      uint64_t size = 0;
      for (char d : n) {
        if (d < '0' || d > '9') return fail("Bad literal size");
        size = size * 10 + static_cast<uint64_t>(d - '0');
      }
      if (size > limits_.max_literal || used_ + size > limits_.max_command) {
        literal_too_big_ = true;
        literal_size_ = static_cast<std::size_t>(std::min<uint64_t>(size, UINT32_MAX));
        return fail("Literal too large");
      }
      literal_size_ = static_cast<std::size_t>(size);
      return Status::NeedLiteral;
    } else if (c >= '0' && c <= '9') {
      Argument a;
      a.kind = Argument::Kind::Number;
      std::size_t start = i;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
      if (i - start > 10) return fail("Number too large");
      uint64_t v = 0;
      for (std::size_t k = start; k < i; ++k) v = v * 10 + static_cast<uint64_t>(line[k] - '0');
      // RFC 5804 4: number = 1*DIGIT, 0 <= n < 4,294,967,296.
      if (v > UINT32_MAX) return fail("Number too large");
      a.number = v;
      a.text = std::string(line.substr(start, i - start));
      command_.args.push_back(std::move(a));
    } else {
      return fail("Expected a string or a number");
    }
  }
  started_ = false;
  return Status::Complete;
}

void CommandParser::feed_literal(std::string bytes) {
  used_ += bytes.size();
  Argument a;
  a.text = std::move(bytes);
  a.literal = true;
  command_.args.push_back(std::move(a));
  literal_size_ = 0;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string literal(std::string_view s) {
  std::string out = "{" + std::to_string(s.size()) + "}\r\n";
  out.append(s);
  return out;
}

std::string string_value(std::string_view s) {
  // RFC 5804 4: quoted strings hold no CR, LF or NUL and at most 1024 octets.
  if (s.size() > 1024 || s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
    return literal(s);
  return quoted(s);
}

std::string response(std::string_view kind, std::string_view code, std::string_view text) {
  std::string out(kind);
  if (!code.empty()) {
    out += " (";
    out.append(code);
    out += ")";
  }
  if (!text.empty()) {
    out += " ";
    out += string_value(text);
  }
  out += "\r\n";
  return out;
}

}  // namespace mailfort::proto::managesieve
