#include "proto/smtp/envelope.h"

#include <charconv>
#include <string>

namespace mailfort::proto::smtp {
namespace {

// The 501 for a MAIL FROM (`sender`) or RCPT TO path that does not parse.
Reply path_error_reply(PathError e, bool sender) {
  const char* status = sender ? "5.1.7" : "5.1.3";
  std::string role = sender ? "sender" : "recipient";
  switch (e) {
    case PathError::Syntax:
      return {501, "5.5.4", sender ? "Syntax: MAIL FROM:<address>" : "Syntax: RCPT TO:<address>"};
    case PathError::BadParams:
      return {501, "5.5.4", "Error: bad parameter syntax"};
    case PathError::TooLong:
      return {501, status, "Error: " + role + " address too long"};
    case PathError::BadAddress:
    case PathError::None:
      break;
  }
  return {501, status, "Error: bad " + role + " address syntax"};
}

const Reply kNeedsSmtputf8{553, "5.6.7", "Error: non-ASCII address requires SMTPUTF8"};

}  // namespace

std::variant<MailFrom, Reply> read_mail_from(std::string_view args, uint64_t max_message_size) {
  auto parsed = parse_path_args(args, "FROM");
  if (parsed.error != PathError::None) return path_error_reply(parsed.error, true);
  if (parsed.args.postmaster_only) return Reply{501, "5.1.7", "Error: bad sender address syntax"};
  MailFrom mail;
  for (const auto& p : parsed.args.params) {
    if (p.keyword == "SIZE" && p.has_value) {
      uint64_t size = 0;
      auto [ptr, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), size);
      if (ec != std::errc() || ptr != p.value.data() + p.value.size()) {
        return Reply{501, "5.5.4", "Error: bad SIZE value"};
      }
      if (size > max_message_size) {
        return Reply{552, "5.3.4", "Message size exceeds fixed maximum message size"};
      }
    } else if (p.keyword == "BODY" && p.has_value &&
               (p.value == "7BIT" || p.value == "8BITMIME" || p.value == "7bit" || p.value == "8bitmime")) {
      mail.eight_bit = p.value.size() > 4;
    } else if (p.keyword == "SMTPUTF8" && !p.has_value) {
      mail.smtputf8 = true;
    } else if (p.keyword == "AUTH" && p.has_value) {
      // RFC 4954 5: accepted and not trusted.
    } else {
      return Reply{555, "5.5.4", "Error: unsupported MAIL parameter " + p.keyword};
    }
  }
  if (parsed.args.mailbox.non_ascii && !mail.smtputf8) return kNeedsSmtputf8;
  mail.path = std::move(parsed.args);
  return mail;
}

std::variant<PathArgs, Reply> read_rcpt_to(std::string_view args, bool smtputf8) {
  auto parsed = parse_path_args(args, "TO");
  if (parsed.error != PathError::None) return path_error_reply(parsed.error, false);
  if (parsed.args.null_path) return Reply{501, "5.1.3", "Error: bad recipient address syntax"};
  if (!parsed.args.params.empty()) {
    return Reply{555, "5.5.4", "Error: unsupported RCPT parameter " + parsed.args.params[0].keyword};
  }
  if (parsed.args.mailbox.non_ascii && !smtputf8) return kNeedsSmtputf8;
  return std::move(parsed.args);
}

}  // namespace mailfort::proto::smtp
