#include "dkim/canon.h"

#include "base/text.h"

namespace mailfort::dkim {
namespace {

bool wsp(char c) {
  return c == ' ' || c == '\t';
}

// Next line of `s` from `pos`: [pos, end) without the line end; `next` after it.
std::string_view next_line(std::string_view s, std::size_t pos, std::size_t& next) {
  auto lf = s.find('\n', pos);
  if (lf == std::string_view::npos) {
    next = s.size();
    return s.substr(pos);
  }
  next = lf + 1;
  std::size_t end = lf;
  if (end > pos && s[end - 1] == '\r') --end;
  return s.substr(pos, end - pos);
}

}  // namespace

SplitMessage split_message(std::string_view m) {
  SplitMessage out;
  std::size_t pos = 0;
  std::size_t field_start = std::string_view::npos;
  std::size_t field_end = 0;
  auto flush = [&] {
    if (field_start == std::string_view::npos) return;
    std::string_view f = m.substr(field_start, field_end - field_start);
    auto colon = f.find(':');
    if (colon != std::string_view::npos) out.fields.push_back({f.substr(0, colon), f.substr(colon + 1)});
    field_start = std::string_view::npos;
  };
  while (pos < m.size()) {
    std::size_t next = 0;
    std::string_view line = next_line(m, pos, next);
    if (line.empty()) {
      flush();
      out.body = m.substr(next);
      return out;
    }
    if (wsp(line[0]) && field_start != std::string_view::npos) {
      field_end = static_cast<std::size_t>(line.data() - m.data()) + line.size();
    } else {
      flush();
      field_start = pos;
      field_end = pos + line.size();
    }
    pos = next;
  }
  flush();
  return out;
}

std::string relaxed_header(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + value.size() + 1);
  // Name: lower case, WSP before the colon removed.
  std::size_t n = name.size();
  while (n > 0 && wsp(name[n - 1])) --n;
  out = to_lower(name.substr(0, n));
  out.push_back(':');
  // Value: unfold (drop CR/LF), WSP runs -> one SP, trim both ends.
  bool pending_space = false;
  bool started = false;
  for (char c : value) {
    if (c == '\r' || c == '\n') continue;
    if (wsp(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space && started) out.push_back(' ');
    pending_space = false;
    started = true;
    out.push_back(c);
  }
  return out;
}

std::string relaxed_body(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t pending_empty = 0;  // empty lines not yet known to be inner ones
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t next = 0;
    std::string_view line = next_line(body, pos, next);
    std::string canon;
    bool space = false;
    for (char c : line) {
      if (wsp(c)) {
        space = true;
        continue;
      }
      if (space) canon.push_back(' ');
      space = false;
      canon.push_back(c);
    }
    // (trailing WSP dropped: a pending `space` at the end is never written)
    if (canon.empty()) {
      ++pending_empty;
    } else {
      for (; pending_empty > 0; --pending_empty) out += "\r\n";
      out += canon;
      out += "\r\n";
    }
    pos = next;
  }
  return out;
}

}  // namespace mailfort::dkim

namespace mailfort::dkim {

std::string simple_header(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + value.size() + 1);
  out.append(name);
  out.push_back(':');
  out.append(value);
  return out;
}

std::string simple_body(std::string_view body) {
  std::string out;
  BodyCanonicalizer c(false, [&](std::string_view s) { out.append(s); });
  c.feed(body);
  c.finish();
  return out;
}

namespace {
constexpr std::size_t kSinkChunk = 16 * 1024;
}

BodyCanonicalizer::BodyCanonicalizer(bool relaxed, Sink sink) : relaxed_(relaxed), sink_(std::move(sink)) {}

void BodyCanonicalizer::flush() {
  if (out_.empty()) return;
  wrote_any_ = true;
  sink_(out_);
  out_.clear();
}

void BodyCanonicalizer::content_starts() {
  line_has_content_ = true;
  for (; empty_lines_ > 0; --empty_lines_) {
    out_ += "\r\n";
    if (out_.size() >= kSinkChunk) flush();
  }
}

void BodyCanonicalizer::line_end() {
  if (line_has_content_) {
    out_ += "\r\n";
  } else {
    ++empty_lines_;
  }
  line_has_content_ = false;
  space_pending_ = false;
}

void BodyCanonicalizer::put(char c) {
  if (c == '\n') {
    line_end();
    return;
  }
  if (relaxed_ && (c == ' ' || c == '\t')) {
    space_pending_ = true;
    return;
  }
  if (!line_has_content_) content_starts();
  if (space_pending_) out_.push_back(' ');
  space_pending_ = false;
  out_.push_back(c);
}

void BodyCanonicalizer::feed(std::string_view chunk) {
  for (char c : chunk) {
    if (cr_pending_) {
      cr_pending_ = false;
      if (c == '\n') {
        line_end();
        continue;
      }
      put('\r');
    }
    if (c == '\r') {
      cr_pending_ = true;
      continue;
    }
    put(c);
    if (out_.size() >= kSinkChunk) flush();
  }
  flush();
}

void BodyCanonicalizer::finish() {
  if (cr_pending_) {
    cr_pending_ = false;
    put('\r');
  }
  if (line_has_content_) line_end();
  if (!relaxed_ && !wrote_any_ && out_.empty()) out_ = "\r\n";
  flush();
}

}  // namespace mailfort::dkim
