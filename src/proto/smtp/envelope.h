// MAIL FROM and RCPT TO as the receiving side reads them: the path
// (path.h) and the parameters this server implements, or the reply that
// refuses the command. MAIL takes SIZE (RFC 1870, checked against the
// limit), BODY=7BIT/8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and AUTH=
// (RFC 4954 5, accepted and not trusted); RCPT takes none. A non-ASCII
// address needs SMTPUTF8 on its MAIL. Pure; faces untrusted input. What
// depends on the session (transaction order, recipient count) and on the
// listener (policy) is checked by the caller.
#pragma once
#include <cstdint>
#include <string_view>
#include <variant>

#include "proto/smtp/path.h"
#include "proto/smtp/reply.h"

namespace mailfort::proto::smtp {

struct MailFrom {
  PathArgs path;
  bool smtputf8 = false;   // SMTPUTF8
  bool eight_bit = false;  // BODY=8BITMIME
};

// `args`: the text after "MAIL" ("FROM:<a@b> SIZE=10").
std::variant<MailFrom, Reply> read_mail_from(std::string_view args, uint64_t max_message_size);

// `args`: the text after "RCPT"; `smtputf8`: the transaction's MAIL had it.
std::variant<PathArgs, Reply> read_rcpt_to(std::string_view args, bool smtputf8);

}  // namespace mailfort::proto::smtp
