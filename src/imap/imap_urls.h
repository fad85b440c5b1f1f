// Internal to the IMAP session: what CATENATE (imap_append.cpp) and
// URLFETCH (imap_urlauth.cpp) share about IMAP URLs.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "proto/imap/imap_url.h"

namespace mailfort::imap {

// "[BADURL <url>] " (RFC 4469), the URL made safe for a response code.
std::string badurl_code(std::string_view url);
// The bytes of `message` the URL's SECTION and PARTIAL name; nullopt when
// the section is invalid or not in the message.
std::optional<std::string> url_bytes(std::string_view message, const proto::imap::ImapUrl& url);

}  // namespace mailfort::imap
