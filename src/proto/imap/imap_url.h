// IMAP URLs (RFC 5092) as CATENATE (RFC 4469), GENURLAUTH and URLFETCH
// (RFC 4467) take them: "imap://user@host/mailbox;UIDVALIDITY=n/;UID=n
// /;SECTION=s/;PARTIAL=o.l;EXPIRE=t;URLAUTH=access:mech:token", or the
// relative forms "/mailbox/;UID=n..." (path-absolute) and ";UID=n..."
// (against a base mailbox). Only URLs naming one message (or a part of
// it) are accepted; mailbox lists and searches are not. Pure; faces
// untrusted input; bounded by the URL's length (at most kMaxUrl bytes).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "proto/imap/command.h"

namespace mailfort::proto::imap {

inline constexpr std::size_t kMaxUrl = 8192;

struct ImapUrl {
  bool absolute = false;             // "imap://..."
  std::string user;                  // iuserinfo's enc-user, decoded ("" when none)
  std::string host;                  // as sent, lower-cased
  std::optional<uint32_t> port;
  bool has_mailbox = false;          // absolute and path-absolute forms
  std::string mailbox;               // decoded (UTF-8, '/' separated)
  std::optional<uint32_t> uidvalidity;
  uint32_t uid = 0;
  std::string section;               // decoded, as sent ("" when none)
  std::optional<uint32_t> partial_offset, partial_length;
  // URLAUTH (RFC 4467)
  std::optional<int64_t> expire;     // ;EXPIRE=, seconds since epoch
  std::string access;                // ";URLAUTH=" access, decoded: "authuser", "anonymous", "user+u", "submit+u"
  std::size_t rump_size = 0;         // bytes of the URL up to the verifier's ':' (0: no URLAUTH)
  std::string rump;                  // those bytes (what the verifier signs)
  std::string mechanism;             // upper-cased, "" when no verifier
  std::string token;                 // the verifier's hex digits, as sent
};

// Parses `url`; nullopt when it is not an IMAP URL naming one message.
std::optional<ImapUrl> parse_imap_url(std::string_view url);

// The URL's SECTION as a FETCH section; nullopt when it is not one.
std::optional<Section> url_section(std::string_view section);

// RFC 3339 date-time ("2024-01-02T03:04:05Z", "...+01:00") to seconds.
std::optional<int64_t> parse_rfc3339(std::string_view text);

}  // namespace mailfort::proto::imap
