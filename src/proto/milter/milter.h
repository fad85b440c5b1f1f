// The Sendmail milter protocol, version 6 (libmilter's mfdef.h): packets
// are a 4-byte big-endian length, a command byte and its data. The MTA side
// only: commands we send encoded, replies the milter sends decoded. Pure:
// no I/O; the decoder is fed bytes as they arrive and never reads past a
// bounded packet (max_packet).
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailfort::proto::milter {

// SMFIC_* commands (MTA -> milter).
enum class Command : char {
  Abort = 'A',
  Body = 'B',
  Connect = 'C',
  Macro = 'D',
  BodyEob = 'E',
  Helo = 'H',
  QuitNc = 'K',
  Header = 'L',
  Mail = 'M',
  Eoh = 'N',
  OptNeg = 'O',
  Quit = 'Q',
  Rcpt = 'R',
  Data = 'T',
  Unknown = 'U',
};

// SMFIR_* replies and modification requests (milter -> MTA).
enum class ReplyCode : char {
  AddRcpt = '+',
  DelRcpt = '-',
  AddRcptPar = '2',
  Shutdown = '4',
  Accept = 'a',
  ReplBody = 'b',
  Continue = 'c',
  Discard = 'd',
  ChgFrom = 'e',
  ConnFail = 'f',
  AddHeader = 'h',
  InsHeader = 'i',
  SetSymList = 'l',
  ChgHeader = 'm',
  Progress = 'p',
  Quarantine = 'q',
  Reject = 'r',
  Skip = 's',
  Tempfail = 't',
  ReplyCode = 'y',
  OptNeg = 'O',
};

// SMFIF_* actions and SMFIP_* protocol flags we use.
inline constexpr uint32_t kVersion = 6;
inline constexpr uint32_t kActAddHdrs = 0x01, kActChgBody = 0x02, kActAddRcpt = 0x04, kActDelRcpt = 0x08,
                          kActChgHdrs = 0x10, kActQuarantine = 0x20, kActChgFrom = 0x40,
                          kActAddRcptPar = 0x80, kActSetSymList = 0x100;
inline constexpr uint32_t kProtoNoConnect = 0x01, kProtoNoHelo = 0x02, kProtoNoMail = 0x04,
                          kProtoNoRcpt = 0x08, kProtoNoBody = 0x10, kProtoNoHdrs = 0x20, kProtoNoEoh = 0x40,
                          kProtoNrHdr = 0x80, kProtoNoUnknown = 0x100, kProtoNoData = 0x200,
                          kProtoSkip = 0x400, kProtoRcptRej = 0x800, kProtoNrConn = 0x1000,
                          kProtoNrHelo = 0x2000, kProtoNrMail = 0x4000, kProtoNrRcpt = 0x8000,
                          kProtoNrData = 0x10000, kProtoNrUnkn = 0x20000, kProtoNrEoh = 0x40000,
                          kProtoNrBody = 0x80000, kProtoHdrLeadSpc = 0x100000;

inline constexpr std::size_t kMaxBodyChunk = 65535;  // MILTER_CHUNK_SIZE

// --- encoding (MTA -> milter) -------------------------------------------
std::string encode_optneg(uint32_t version, uint32_t actions, uint32_t protocol);
// Connect: hostname, family '4' / '6' / 'L' (unix) / 'U' (unknown), port, address.
std::string encode_connect(std::string_view hostname, char family, uint16_t port, std::string_view address);
std::string encode_helo(std::string_view helo);
// Macros for the stage `for_command` ('C', 'H', 'M', 'R', 'T', 'L'/'N'/'E').
std::string encode_macros(Command for_command,
                          const std::vector<std::pair<std::string, std::string>>& macros);
// MAIL/RCPT: the address in angle brackets first, then ESMTP arguments.
std::string encode_mail(std::string_view sender, const std::vector<std::string>& esmtp_args = {});
std::string encode_rcpt(std::string_view rcpt, const std::vector<std::string>& esmtp_args = {});
std::string encode_data();
std::string encode_header(std::string_view name, std::string_view value);
std::string encode_eoh();
// One chunk (at most kMaxBodyChunk bytes).
std::string encode_body(std::string_view chunk);
std::string encode_eob();
std::string encode_abort();
std::string encode_quit();

// --- decoding (milter -> MTA) --------------------------------------------
struct Reply {
  ReplyCode code{};
  std::string data;  // raw payload
};

// Splits a byte stream into packets; bounded.
class ReplyDecoder {
 public:
  explicit ReplyDecoder(std::size_t max_packet = 1 << 20) : max_packet_(max_packet) {}
  // Appends bytes; returns false once the stream is invalid (oversized or
  // zero-length packet); the error stays.
  bool feed(std::string_view bytes);
  std::optional<Reply> next();  // a complete packet, or nullopt
  bool failed() const { return failed_; }

 private:
  std::size_t max_packet_;
  std::string buf_;
  std::size_t pos_ = 0;   // start of the first unread packet
  std::size_t scan_ = 0;  // end of the complete packets validated so far
  bool failed_ = false;
};

// The milter's option negotiation answer.
struct OptNegReply {
  uint32_t version = 0, actions = 0, protocol = 0;
};
std::optional<OptNegReply> parse_optneg(std::string_view data);

// SMFIR_REPLYCODE: "550 5.7.1 text" (NUL-terminated in the packet).
struct SmtpText {
  int code = 0;
  std::string enhanced;  // "5.7.1" or ""
  std::string text;      // may be multi-line (lines joined with "\r\n")
};
std::optional<SmtpText> parse_replycode(std::string_view data);

// Header modifications: ADDHEADER (name, value), INSHEADER (index, name,
// value), CHGHEADER (index, name, value; empty value = delete). Index is
// 1-based per name for CHGHEADER, 0-based position for INSHEADER.
struct HeaderChange {
  enum class Kind { Add, Insert, Change };
  Kind kind = Kind::Add;
  uint32_t index = 0;
  std::string name, value;
};
std::optional<HeaderChange> parse_header_change(ReplyCode code, std::string_view data);

// QUARANTINE reason, REPLBODY chunk, CHGFROM / ADDRCPT address: the
// NUL-terminated strings of a payload.
std::vector<std::string> split_nul_strings(std::string_view data);

}  // namespace mailfort::proto::milter
