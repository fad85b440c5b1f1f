// Vacation (RFC 5230, RFC 6131) around the interpreter: whether a reply
// may be sent at all (RFC 5230 4.5 and 5: never to bounces, lists, robots
// or other auto-replies, only to mail addressed to the user), and the
// reply message itself (RFC 5230 5). The "once per sender per period"
// rule is SieveState's (durable); this part is pure so that `mailfort
// sieve test` prints the same decisions delivery makes.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sieve/interpreter.h"

namespace mailfort::sieve {

struct VacationDecision {
  bool reply = false;
  std::string skipped;  // why no reply ("" when reply): for logs and `sieve test`
};

struct VacationContext {
  std::string envelope_from;  // the return path ("" = null sender)
  // The user's addresses: the mailbox, the RCPT address and the aliases
  // that lead to it (the caller's), plus :addresses. Compared
  // case-insensitively against To/Cc/Bcc/Resent-To/Resent-Cc/Resent-Bcc.
  std::vector<std::string> user_addresses;
};

// RFC 5230 4.5/5 and Pigeonhole's robot checks. `message` is the message
// as delivered (CRLF lines).
VacationDecision should_reply(std::string_view message, const VacationContext& ctx, const VacationReply& v);

struct ReplyParams {
  std::string user;      // the mailbox ("user@domain"): From when :from is empty
  std::string to;        // the recipient of the reply (the envelope sender)
  std::string hostname;  // Message-ID's right-hand side
  std::string unique;    // Message-ID's left-hand side (random, unique per reply)
  int64_t now = 0;       // Date
};

// The reply (RFC 5230 5): From, To, Subject (encoded words when not
// ASCII), Date, Message-ID, In-Reply-To / References from the original,
// Auto-Submitted: auto-replied, MIME-Version, and the body: text/plain
// UTF-8 (7bit, or quoted-printable when it needs it), or the :mime entity
// as given. Header values from the script are made single-line.
std::string compose_reply(std::string_view original, const VacationReply& v, const ReplyParams& p);

// RFC 2047 encoded words (UTF-8, base64) for a header value when it is
// not plain ASCII; the value as it is otherwise. Folded to short lines.
std::string encode_header_words(std::string_view value);

}  // namespace mailfort::sieve
