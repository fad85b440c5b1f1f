// The pure parts of talking to clamd (clamd(8), "COMMANDS"): where it
// listens ([antivirus] clamd), the INSTREAM framing, and what its reply
// means. No I/O here; clamd.cpp does the sockets.
//
// The reply comes from clamd, not from a mail client, but it ends up in an
// SMTP reply ("554 5.7.1 Virus found: <name>") and in the log, so the name is
// cut to printable ASCII and a bounded length.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filter/scan.h"

namespace mailfort::filter {

struct ClamdAddress {
  std::string unix_path;  // set: a unix socket; else host and port
  std::string host;       // IPv4/IPv6 literal (no brackets) or a name
  uint16_t port = 0;
  bool is_unix() const { return !unix_path.empty(); }
};

// "/run/clamav/clamd.ctl", "127.0.0.1:3310", "[::1]:3310", "clamd.lan:3310";
// nullopt with `why` set when it is none of these.
std::optional<ClamdAddress> parse_clamd_address(std::string_view text, std::string& why);

// The command that starts a stream: NUL-terminated replies ("z" prefix).
inline constexpr std::string_view kClamdInstream{"zINSTREAM\0", 10};
// Data chunk size sent per INSTREAM frame: large enough that the 4-byte
// framing costs nothing, small enough to stay far below clamd's limits.
inline constexpr std::size_t kClamdChunkSize = 64 * 1024;
// A reply longer than this is not clamd's (names are short).
inline constexpr std::size_t kClamdMaxReply = 4096;
// Longest virus name passed on (clamd's are well under 100 characters).
inline constexpr std::size_t kClamdMaxVirusName = 200;

// The 4-byte big-endian length that precedes each chunk (0 ends the stream).
std::array<char, 4> clamd_chunk_length(uint32_t n);

// One reply, without its terminating NUL (or newline): "stream: OK",
// "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR".
// Anything else is an Error naming what came.
VirusScan parse_clamd_reply(std::string_view reply);

}  // namespace mailfort::filter
