// DataReader: the receiver for SMTP DATA content (RFC 5321 4.1.1.4, 4.5.2).
// Pure state machine: bytes in, unstuffed message out. Faces untrusted input.
//
// The end of data is recognised ONLY as CRLF "." CRLF. A bare LF or bare CR
// anywhere is not a line end: it is recorded as an error and the message is
// rejected when the real end arrives (SMTP smuggling, CVE-2023-51764 class:
// "\n.\n", "\n.\r\n", "\r.\r\n" never end the data, so smuggled commands stay
// inside a rejected message). Leading dots are removed. Past the size limit
// or after an error nothing more is stored, but input is consumed to the end
// marker so the session stays in sync and memory stays bounded.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::proto::smtp {

class DataReader {
 public:
  enum class Error { None, TooBig, BareNewline, LineTooLong };

  DataReader(uint64_t max_size, std::size_t max_line) : max_size_(max_size), max_line_(max_line) {}

  // Consumes bytes from `in`, appending message content to `out`. Returns the
  // number of bytes consumed; done() is true once the end marker was
  // consumed, and bytes after it (pipelined commands) are left unconsumed.
  std::size_t feed(std::string_view in, std::string& out);

  bool done() const { return state_ == State::Done; }
  Error error() const { return error_; }
  uint64_t size() const { return size_; }  // content bytes seen (even past the limit)

 private:
  enum class State { LineStart, Text, Cr, Dot, DotCr, Done };
  void emit(char c, std::string& out);
  void fail(Error e) {
    if (error_ == Error::None) error_ = e;
  }

  uint64_t max_size_;
  std::size_t max_line_;
  State state_ = State::LineStart;
  Error error_ = Error::None;
  uint64_t size_ = 0;
  std::size_t line_len_ = 0;
};

// The sending side of DataReader (RFC 5321 4.5.2): a message of CRLF lines
// as it goes on the wire after DATA (SMTP client) or RETR/TOP (POP3,
// RFC 1939 3): lines starting with "." get another ".", a missing final
// CRLF is added, and the terminating ".\r\n" is appended.
std::string dot_stuff(std::string_view message);

}  // namespace mailfort::proto::smtp
