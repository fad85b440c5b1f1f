// The milter wire format (libmilter's mfdef.h, protocol version 6). Untrusted
// input: replies come from a separate daemon over a socket; every read is
// checked against the packet's own length and the decoder's max_packet.
#include "proto/milter/milter.h"

#include <algorithm>

namespace mailfort::proto::milter {
namespace {

void put_u32(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 24) & 0xff));
  out.push_back(static_cast<char>((v >> 16) & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

uint32_t get_u32(std::string_view s) {
  auto b = [&](std::size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

// One packet: length (command byte included), command, data.
std::string packet(char command, std::string_view data) {
  std::string out;
  out.reserve(5 + data.size());
  put_u32(out, static_cast<uint32_t>(data.size() + 1));
  out.push_back(command);
  out.append(data);
  return out;
}

void put_str(std::string& out, std::string_view s) {
  out.append(s);
  out.push_back('\0');
}

std::string address_args(std::string_view address, const std::vector<std::string>& esmtp_args) {
  std::string data;
  data.push_back('<');
  data.append(address);
  data.push_back('>');
  data.push_back('\0');
  for (const auto& a : esmtp_args) put_str(data, a);
  return data;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// "5.7.1" (class.subject.detail, RFC 3463) at the start of s; its length or 0.
std::size_t enhanced_code_length(std::string_view s) {
  std::size_t i = 0;
  for (int part = 0; part < 3; ++part) {
    std::size_t start = i;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) ++i;
    if (i == start) return 0;
    if (part < 2) {
      if (i >= s.size() || s[i] != '.') return 0;
      ++i;
    }
  }
  if (i < s.size() && s[i] != ' ') return 0;
  return i;
}

// A header field name as RFC 5322 allows it: printable ASCII without ':'.
bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 33 || u > 126 || c == ':') return false;
  }
  return true;
}

}  // namespace

std::string encode_optneg(uint32_t version, uint32_t actions, uint32_t protocol) {
  std::string data;
  put_u32(data, version);
  put_u32(data, actions);
  put_u32(data, protocol);
  return packet('O', data);
}

std::string encode_connect(std::string_view hostname, char family, uint16_t port, std::string_view address) {
  std::string data;
  put_str(data, hostname);
  data.push_back(family);
  // SMFIA_UNKNOWN carries neither port nor address (libmilter's st_connectinfo).
  if (family != 'U') {
    data.push_back(static_cast<char>((port >> 8) & 0xff));
    data.push_back(static_cast<char>(port & 0xff));
    put_str(data, address);
  }
  return packet('C', data);
}

std::string encode_helo(std::string_view helo) {
  std::string data;
  put_str(data, helo);
  return packet('H', data);
}

std::string encode_macros(Command for_command,
                          const std::vector<std::pair<std::string, std::string>>& macros) {
  std::string data;
  data.push_back(static_cast<char>(for_command));
  for (const auto& [name, value] : macros) {
    put_str(data, name);
    put_str(data, value);
  }
  return packet('D', data);
}

std::string encode_mail(std::string_view sender, const std::vector<std::string>& esmtp_args) {
  return packet('M', address_args(sender, esmtp_args));
}

std::string encode_rcpt(std::string_view rcpt, const std::vector<std::string>& esmtp_args) {
  return packet('R', address_args(rcpt, esmtp_args));
}

std::string encode_data() {
  return packet('T', {});
}

std::string encode_header(std::string_view name, std::string_view value) {
  std::string data;
  put_str(data, name);
  put_str(data, value);
  return packet('L', data);
}

std::string encode_eoh() {
  return packet('N', {});
}

std::string encode_body(std::string_view chunk) {
  return packet('B', chunk.substr(0, std::min(chunk.size(), kMaxBodyChunk)));
}

std::string encode_eob() {
  return packet('E', {});
}
std::string encode_abort() {
  return packet('A', {});
}
std::string encode_quit() {
  return packet('Q', {});
}

bool ReplyDecoder::feed(std::string_view bytes) {
  if (failed_) return false;
  // Drop what next() consumed before growing, so the buffer holds at most
  // the unread packets.
  if (pos_ > 0 && (pos_ == buf_.size() || pos_ >= 65536)) {
    buf_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
  buf_.append(bytes);
  // Validate every packet header now available, so an oversized or empty
  // packet fails at once rather than after max_packet bytes were buffered.
  while (buf_.size() - scan_ >= 4) {
    uint32_t len = get_u32(std::string_view(buf_).substr(scan_, 4));
    if (len == 0 || len > max_packet_) {
      failed_ = true;
      buf_.clear();
      pos_ = scan_ = 0;
      return false;
    }
    if (buf_.size() - scan_ - 4 < len) break;
    scan_ += 4 + len;
  }
  return true;
}

std::optional<Reply> ReplyDecoder::next() {
  if (failed_ || pos_ >= scan_) return std::nullopt;
  // [pos_, scan_) holds only complete, validated packets.
  std::string_view view(buf_);
  uint32_t len = get_u32(view.substr(pos_, 4));
  Reply r;
  r.code = static_cast<ReplyCode>(view[pos_ + 4]);
  r.data.assign(view.substr(pos_ + 5, len - 1));
  pos_ += 4 + len;
  return r;
}

std::optional<OptNegReply> parse_optneg(std::string_view data) {
  // Version 6 may append symbol lists after the three words; we ignore them.
  if (data.size() < 12) return std::nullopt;
  OptNegReply r;
  r.version = get_u32(data.substr(0, 4));
  r.actions = get_u32(data.substr(4, 4));
  r.protocol = get_u32(data.substr(8, 4));
  return r;
}

std::optional<SmtpText> parse_replycode(std::string_view data) {
  if (auto nul = data.find('\0'); nul != std::string_view::npos) data = data.substr(0, nul);
  SmtpText out;
  bool first = true;
  // smfi_setmlreply sends "550-5.7.1 one\r\n550 5.7.1 two": each line has the
  // code, a separator and the text; the enhanced code of the first line counts.
  while (!data.empty()) {
    std::size_t eol = data.find('\n');
    std::string_view line = data.substr(0, eol);
    data = eol == std::string_view::npos ? std::string_view{} : data.substr(eol + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]))
      return std::nullopt;
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') return std::nullopt;
    std::string_view rest = line.size() > 4 ? line.substr(4) : std::string_view{};
    std::string_view enhanced;
    if (std::size_t n = enhanced_code_length(rest); n > 0) {
      enhanced = rest.substr(0, n);
      rest = n < rest.size() ? rest.substr(n + 1) : std::string_view{};
    }
    if (first) {
      out.code = code;
      out.enhanced = std::string(enhanced);
      first = false;
    } else {
      if (code != out.code) return std::nullopt;
      out.text += "\r\n";
    }
    out.text.append(rest);
  }
  if (first) return std::nullopt;
  return out;
}

std::optional<HeaderChange> parse_header_change(ReplyCode code, std::string_view data) {
  HeaderChange c;
  switch (code) {
    case ReplyCode::AddHeader:
      c.kind = HeaderChange::Kind::Add;
      break;
    case ReplyCode::InsHeader:
      c.kind = HeaderChange::Kind::Insert;
      break;
    case ReplyCode::ChgHeader:
      c.kind = HeaderChange::Kind::Change;
      break;
    default:
      return std::nullopt;
  }
  if (c.kind != HeaderChange::Kind::Add) {
    if (data.size() < 4) return std::nullopt;
    c.index = get_u32(data.substr(0, 4));
    data.remove_prefix(4);
  }
  std::size_t nul = data.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  c.name = std::string(data.substr(0, nul));
  if (!valid_field_name(c.name)) return std::nullopt;
  std::string_view value = data.substr(nul + 1);
  // The value's NUL is required by the protocol; a milter that leaves it out
  // still meant the rest of the packet.
  if (auto end = value.find('\0'); end != std::string_view::npos) value = value.substr(0, end);
  c.value = std::string(value);
  return c;
}

std::vector<std::string> split_nul_strings(std::string_view data) {
  std::vector<std::string> out;
  while (!data.empty()) {
    std::size_t nul = data.find('\0');
    out.emplace_back(data.substr(0, nul));
    if (nul == std::string_view::npos) break;
    data.remove_prefix(nul + 1);
  }
  return out;
}

}  // namespace mailfort::proto::milter
