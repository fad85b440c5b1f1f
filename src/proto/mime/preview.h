// Message preview text (IMAP PREVIEW, RFC 8970): a short plain-text extract
// of the first readable body part, for message lists. Pure; faces untrusted
// input; reads a bounded prefix of one part whatever the message size.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

#include "proto/mime/mime.h"

namespace mailfort::proto::mime {

// At most `max_chars` characters (code points) of UTF-8 text from the first
// text/plain or text/html part that is not an attachment (in a
// multipart/alternative the plain version wins): transfer encoding removed,
// converted from its charset, HTML tags, comments, <head>/<style>/<script>
// contents dropped and the common entities decoded, control characters
// dropped, runs of white space made one space, the ends trimmed. Embedded
// messages (forwards) are not looked into. "" when there is no such part.
// RFC 8970 allows 256 characters; 200 is what it recommends.
std::string preview(std::string_view message, const Part& root, std::size_t max_chars = 200);

// The HTML-to-text step alone (UTF-8 in, UTF-8 out, white space not yet
// collapsed).
std::string html_to_text(std::string_view html);

}  // namespace mailfort::proto::mime
