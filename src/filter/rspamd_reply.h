// Rspamd's HTTP protocol without the HTTP: the request headers a scan and a
// learn carry, and the JSON answers of /checkv2 and /learnspam|/learnham
// turned into our types. Pure (no I/O) so it is unit-tested without a
// running Rspamd; rspamd.cpp does the transport.
//
// The answers come from the Rspamd we are configured to use (not from the
// network at large), but they are still checked: a reply that is not the
// JSON we expect is an error, never a crash. Request header values come
// partly from the SMTP client (HELO, envelope): control characters are
// dropped so a value can never end a header line early.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "filter/scan.h"

namespace mailfort::filter::rspamd {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The headers of a /checkv2 request: IP, Helo, From (envelope; "<>" for the
// null sender), one Rcpt per recipient, User (authenticated submission),
// Queue-Id. Empty values are left out (Rspamd then does without).
Headers check_headers(const ScanInput& in);

// The headers of a /learnspam or /learnham request: Password when given,
// Deliver-To for a per-user statistics `user`.
Headers learn_headers(std::string_view password, std::string_view user);

// "reject" -> Reject, "soft reject" -> SoftReject, "add header" and
// "rewrite subject" -> AddHeader, "greylist", "no action" and anything
// unknown -> NoAction.
Action action_from_name(std::string_view name);

// A /checkv2 answer (HTTP 200 body) as a ScanResult with engine "rspamd":
// action, score, required_score (Rspamd's "required_score", the reject
// threshold it prints in its own X-Spamd-Result, also put in reject_score),
// the symbols sorted by name with their options, milter.add_headers /
// remove_headers, messages.smtp_message as the reject reason.
Result<ScanResult> parse_check_reply(std::string_view body);

// A controller's answer to a learn request: HTTP status and body.
// success -> Learned; "already learned" / "already in class" (Rspamd's own
// guard against learning what it already classifies that way) ->
// AlreadyLearned; too few tokens or a GTUBE-like pre-result -> Skipped;
// 403 -> Denied (wrong password); anything else -> Temp with Rspamd's text.
Result<LearnOutcome> parse_learn_reply(long http_status, std::string_view body);

// A header value made safe for a request line: control characters (CR, LF,
// NUL...) removed, at most 998 bytes.
std::string header_value(std::string_view v);

}  // namespace mailfort::filter::rspamd
