#include "filter/clamd_protocol.h"

namespace mailfort::filter {
namespace {

bool ends_with(std::string_view s, std::string_view tail) {
  return s.size() >= tail.size() && s.substr(s.size() - tail.size()) == tail;
}

// Printable ASCII only, at most `max` characters: what clamd says may end up
// in an SMTP reply and a log line.
std::string printable(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) break;
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  return out;
}

std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  uint32_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n == 0 || n > 65535) return std::nullopt;
  return static_cast<uint16_t>(n);
}

VirusScan error(std::string why) {
  VirusScan v;
  v.status = VirusScan::Status::Error;
  v.error = std::move(why);
  return v;
}

}  // namespace

std::optional<ClamdAddress> parse_clamd_address(std::string_view text, std::string& why) {
  ClamdAddress a;
  if (text.empty()) {
    why = "empty clamd address";
    return std::nullopt;
  }
  if (text.front() == '/') {
    a.unix_path = std::string(text);
    return a;
  }
  std::string_view host, port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      why = "expected [IPv6]:port";
      return std::nullopt;
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      why = "expected host:port or a unix socket path (starting with /)";
      return std::nullopt;
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      why = "an IPv6 address needs brackets: [::1]:3310";
      return std::nullopt;
    }
  }
  auto p = parse_port(port);
  if (host.empty() || !p) {
    why = "expected host:port with a port from 1 to 65535";
    return std::nullopt;
  }
  a.host = std::string(host);
  a.port = *p;
  return a;
}

std::array<char, 4> clamd_chunk_length(uint32_t n) {
  return {static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
          static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
}

VirusScan parse_clamd_reply(std::string_view reply) {
  while (!reply.empty() && (reply.back() == '\0' || reply.back() == '\n' || reply.back() == '\r'))
    reply.remove_suffix(1);
  // With IDSESSION each reply starts with its request number ("3: stream: OK").
  std::size_t digits = 0;
  while (digits < reply.size() && reply[digits] >= '0' && reply[digits] <= '9') ++digits;
  if (digits > 0 && reply.substr(digits, 2) == ": ") reply.remove_prefix(digits + 2);

  if (ends_with(reply, " ERROR")) {
    std::string_view what = reply.substr(0, reply.size() - 6);
    while (!what.empty() && (what.back() == '.' || what.back() == ' ')) what.remove_suffix(1);
    return error("clamd: " + printable(what.empty() ? "error" : what, kClamdMaxVirusName));
  }
  constexpr std::string_view kStream = "stream: ";
  if (reply.substr(0, kStream.size()) == kStream) {
    std::string_view rest = reply.substr(kStream.size());
    if (rest == "OK") {
      VirusScan v;
      v.status = VirusScan::Status::Clean;
      return v;
    }
    if (ends_with(rest, " FOUND")) {
      std::string_view name = rest.substr(0, rest.size() - 6);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      if (!name.empty()) {
        VirusScan v;
        v.status = VirusScan::Status::Infected;
        v.virus = printable(name, kClamdMaxVirusName);
        return v;
      }
    }
  }
  if (reply.empty()) return error("empty reply from clamd");
  return error("unexpected reply from clamd: " + printable(reply, 100));
}

}  // namespace mailfort::filter
