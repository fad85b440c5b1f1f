#include "proto/smtp/client_reply.h"

#include <cctype>
#include <charconv>

namespace mailfort::proto::smtp {

std::string ServerReply::summary() const {
  std::string out = std::to_string(code);
  if (!enhanced.empty()) out += " " + enhanced;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (!enhanced.empty() && l.starts_with(enhanced)) l.remove_prefix(enhanced.size());
    while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
    out += (i ? "; " : " ") + std::string(l);
    if (out.size() > 1000) break;
  }
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

namespace {
bool is_enhanced(std::string_view t, char klass) {
  // class "." subject "." detail: 2.1.0, 5.7.26
  if (t.size() < 5 || t[0] != klass || t[1] != '.') return false;
  std::size_t i = 2, digits = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++digits;
  if (digits == 0 || digits > 3 || i >= t.size() || t[i] != '.') return false;
  ++i;
  digits = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i, ++digits;
  return digits > 0 && digits <= 3 && (i == t.size() || t[i] == ' ');
}
}  // namespace

ReplyAssembler::Status ReplyAssembler::feed(std::string_view line, std::size_t max_lines) {
  if (line.size() < 3) return Status::Error;
  int code = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + 3, code);
  if (ec != std::errc() || p != line.data() + 3 || code < 200 || code > 599) return Status::Error;
  bool last = line.size() == 3 || line[3] == ' ';
  if (!last && line[3] != '-') return Status::Error;
  if (cur_.code && cur_.code != code) return Status::Error;
  cur_.code = code;
  std::string text(line.size() > 4 ? line.substr(4) : std::string_view());
  if (cur_.lines.empty()) {
    auto sp = text.find(' ');
    std::string_view first = std::string_view(text).substr(0, sp);
    if (is_enhanced(text, static_cast<char>('0' + code / 100))) cur_.enhanced = std::string(first);
  }
  cur_.lines.push_back(std::move(text));
  if (cur_.lines.size() > max_lines) return Status::Error;
  return last ? Status::Done : Status::NeedMore;
}

ServerReply ReplyAssembler::take() {
  ServerReply r = std::move(cur_);
  cur_ = ServerReply{};
  return r;
}

Extensions parse_ehlo(const ServerReply& reply) {
  Extensions e;
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string l = reply.lines[i];
    for (auto& c : l) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto sp = l.find(' ');
    std::string kw = l.substr(0, sp);
    if (kw == "STARTTLS")
      e.starttls = true;
    else if (kw == "PIPELINING")
      e.pipelining = true;
    else if (kw == "8BITMIME")
      e.eightbitmime = true;
    else if (kw == "SMTPUTF8")
      e.smtputf8 = true;
    else if (kw == "CHUNKING")
      e.chunking = true;
    else if (kw == "ENHANCEDSTATUSCODES")
      e.enhancedstatuscodes = true;
    else if (kw == "SIZE") {
      unsigned long long n = 0;
      if (sp != std::string::npos) std::from_chars(l.data() + sp + 1, l.data() + l.size(), n);
      e.size = n;
    }
  }
  return e;
}

}  // namespace mailfort::proto::smtp
