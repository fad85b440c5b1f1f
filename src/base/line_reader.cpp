#include "base/line_reader.h"

namespace mailfort {

LineReader::Status LineReader::next(std::string& line) {
  line.clear();
  while (true) {
    std::size_t lf = buf_.find('\n', pos_);
    if (lf == std::string::npos) {
      std::size_t pending = buf_.size() - pos_;
      if (draining_ || pending > max_ + 1) {
        // Keep at most the tail byte (could be the CR of a CRLF); report the
        // overlong line once, then keep discarding until its LF arrives.
        bool first = !draining_;
        if (first) line.assign(buf_, pos_, max_);
        draining_ = true;
        char last = buf_.empty() ? 0 : buf_.back();
        buf_.clear();
        pos_ = 0;
        if (last == '\r') buf_.push_back('\r');
        if (first) return Status::TooLong;
      }
      if (pos_ > 0 && pos_ == buf_.size()) {
        buf_.clear();
        pos_ = 0;
      }
      return Status::NeedMore;
    }
    std::size_t start = pos_;
    pos_ = lf + 1;
    if (draining_) {
      draining_ = false;
      continue;  // the tail of an overlong line already reported
    }
    bool crlf = lf > start && buf_[lf - 1] == '\r';
    std::size_t end = crlf ? lf - 1 : lf;
    std::size_t len = end - start;
    line.assign(buf_, start, len < max_ ? len : max_);
    if (pos_ > 4096 && pos_ * 2 > buf_.size()) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    if (len > max_) return Status::TooLong;
    if (!crlf) return Status::BareLf;
    if (line.find('\r') != std::string::npos) return Status::BareCr;
    return Status::Line;
  }
}

std::string LineReader::take_buffered() {
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return rest;
}

}  // namespace mailfort
