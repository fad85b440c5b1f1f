// LineReader: splits a byte stream into CRLF-terminated lines with a length
// bound. Pure: no I/O. Faces untrusted input.
//
// A bare LF or a bare CR inside a line is reported (SMTP smuggling,
// CVE-2023-51764 class) instead of being treated as a line end. An overlong
// line is reported once and then drained up to its CRLF so the protocol stays
// in sync.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace mailfort {

class LineReader {
 public:
  enum class Status { Line, NeedMore, TooLong, BareLf, BareCr };

  explicit LineReader(std::size_t max_line) : max_(max_line) {}

  // Appends received bytes. The caller then calls next() until NeedMore.
  void feed(std::string_view bytes) { buf_.append(bytes); }

  // Next event. For Line, `line` holds the line without CRLF. For TooLong,
  // BareLf, BareCr the offending line has been consumed (through its
  // terminator) and `line` holds up to max_line bytes of it.
  Status next(std::string& line);

  // Bytes received but not yet returned (e.g. pipelined after STARTTLS).
  std::size_t buffered() const { return buf_.size() - pos_; }
  // Hands back and drops the unconsumed bytes (used for raw BDAT chunks).
  std::string take_buffered();
  void clear() {
    buf_.clear();
    pos_ = 0;
    draining_ = false;
  }

 private:
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t max_;
  bool draining_ = false;  // inside an overlong line: discard to next LF
};

}  // namespace mailfort
