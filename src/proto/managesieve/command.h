// ManageSieve (RFC 5804 4) command lines, parsed incrementally, and the
// server's responses. Pure; faces untrusted input.
//
// A command is an atom (its name, any case) followed by arguments: quoted
// strings ("..." with only \\ and \" escaped, no CR/LF), literals ({N+} or
// {N} at the end of a line, then N bytes, then the rest of the command on
// the next line) and numbers. RFC 5804 has no continuation request for a
// synchronizing literal {N}: the client sends the bytes right away, so both
// forms read the same. The session feeds lines (without CRLF) and, when
// asked, the literal's bytes; every size is bounded by Limits.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::managesieve {

struct Argument {
  enum class Kind { String, Number };
  Kind kind = Kind::String;
  std::string text;     // String: the value (quoted or literal)
  uint64_t number = 0;  // Number
  bool literal = false;
};

struct Command {
  std::string name;  // upper case
  std::vector<Argument> args;
};

struct Limits {
  std::size_t max_literal = 65536 + 1024;  // bytes of one literal
  std::size_t max_args = 8;
  std::size_t max_command = 128 * 1024;  // bytes of one whole command (lines + literals)
};

class CommandParser {
 public:
  enum class Status {
    Complete,     // command() holds the command
    NeedLiteral,  // read literal_size() bytes, pass them to feed_literal()
    Error,        // error() says why; the parser is reset for the next command
  };

  explicit CommandParser(Limits limits = {}) : limits_(limits) {}

  // One line without its CRLF: a command, or what follows a literal.
  Status feed_line(std::string_view line);
  // The literal's bytes (exactly literal_size() of them); then the next line
  // (the rest of the command) follows with feed_line.
  void feed_literal(std::string bytes);
  std::size_t literal_size() const { return literal_size_; }
  // A literal above the limit: its size was announced and refused. The
  // session says so (and does not read the bytes; it closes or skips).
  bool literal_too_big() const { return literal_too_big_; }
  Command take() { return std::move(command_); }
  const Command& command() const { return command_; }
  const std::string& error() const { return error_; }
  void reset();

 private:
  Status fail(std::string why);
  Limits limits_;
  Command command_;
  bool started_ = false;
  std::size_t used_ = 0;
  std::size_t literal_size_ = 0;
  bool literal_too_big_ = false;
  std::string error_;
};

// Response builders (RFC 5804 4): `kind` is "OK", "NO" or "BYE"; `code` is
// a response code as written, e.g. "QUOTA/MAXSIZE" or "TAG \"x\"" (omitted
// when empty); `text` is sent as a quoted string, or as a literal when it
// cannot be quoted (CR, LF, NUL, long).
std::string response(std::string_view kind, std::string_view code, std::string_view text);
// A string as the protocol writes it: quoted when it can be, else a literal.
std::string string_value(std::string_view s);
std::string quoted(std::string_view s);   // "..." with \ and " escaped (no CR/LF/NUL in s)
std::string literal(std::string_view s);  // {N}\r\n followed by the bytes

}  // namespace mailfort::proto::managesieve
