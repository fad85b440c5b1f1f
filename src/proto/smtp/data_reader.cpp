#include "proto/smtp/data_reader.h"

namespace mailfort::proto::smtp {

void DataReader::emit(char c, std::string& out) {
  ++size_;
  if (c != '\n' && c != '\r' && ++line_len_ > max_line_) fail(Error::LineTooLong);
  if (size_ > max_size_) fail(Error::TooBig);
  if (error_ == Error::None) out.push_back(c);
}

std::size_t DataReader::feed(std::string_view in, std::string& out) {
  std::size_t i = 0;
  while (i < in.size() && state_ != State::Done) {
    char c = in[i++];
    switch (state_) {
      case State::LineStart:
        line_len_ = 0;
        if (c == '.') {
          state_ = State::Dot;
        } else if (c == '\r') {
          state_ = State::Cr;
        } else if (c == '\n') {
          fail(Error::BareNewline);
          emit(c, out);
          state_ = State::Text;
        } else {
          emit(c, out);
          state_ = State::Text;
        }
        break;
      case State::Text:
        if (c == '\r') {
          state_ = State::Cr;
        } else {
          if (c == '\n') fail(Error::BareNewline);
          emit(c, out);
        }
        break;
      case State::Cr:
        if (c == '\n') {
          emit('\r', out);
          emit('\n', out);
          state_ = State::LineStart;
        } else {
          fail(Error::BareNewline);  // bare CR
          emit('\r', out);
          --i;  // reprocess c as text
          state_ = State::Text;
        }
        break;
      case State::Dot:
        if (c == '\r') {
          state_ = State::DotCr;
        } else {
          // Dot-unstuffing: the leading dot is dropped (RFC 5321 4.5.2).
          if (c == '\n') fail(Error::BareNewline);
          emit(c, out);
          state_ = State::Text;
        }
        break;
      case State::DotCr:
        if (c == '\n') {
          state_ = State::Done;
        } else {
          fail(Error::BareNewline);  // ".\r" followed by something else
          emit('\r', out);
          --i;
          state_ = State::Text;
        }
        break;
      case State::Done:
        break;
    }
  }
  return i;
}

std::string dot_stuff(std::string_view m) {
  std::string out;
  out.reserve(m.size() + m.size() / 64 + 8);
  bool bol = true;
  for (char c : m) {
    if (bol && c == '.') out.push_back('.');
    out.push_back(c);
    bol = c == '\n';
  }
  if (!m.empty() && !bol) out += "\r\n";
  out += ".\r\n";
  return out;
}

}  // namespace mailfort::proto::smtp
