// The Authentication-Results header field we add (RFC 8601) and the ones
// we remove: the resinfo text of a Verdict ("spf=pass smtp.mailfrom=...;
// dkim=pass header.d=... header.s=... header.a=... header.b=...;
// dmarc=pass header.from=...; arc=none"), folded at 78 columns, and a
// message with every Authentication-Results field that claims our
// authserv-id taken out (RFC 8601 5: nobody can forge our verdict).
#pragma once
#include <string>
#include <string_view>

#include "auth/message_auth.h"

namespace mailfort::auth {

// The resinfo list after the authserv-id, unfolded. Only the checks that
// ran are reported (SPF absent when off, and so on).
std::string format_results(const Verdict& verdict, const Arrival& arrival, const Checks& checks);

// "Authentication-Results: <authserv-id>; <results>\r\n", folded between
// words so no line passes 78 columns where a word allows it.
std::string results_header(std::string_view authserv_id, std::string_view results);

// `message` (header and body, CRLF) without the Authentication-Results
// fields whose authserv-id equals `authserv_id` (case-insensitive). A
// field whose value cannot be read past its authserv-id still goes when
// the id matches. Other fields and the body are kept byte for byte.
std::string remove_our_results(std::string_view message, std::string_view authserv_id);

// How many Authentication-Results fields remove_our_results() would take out.
std::size_t count_our_results(std::string_view message, std::string_view authserv_id);

}  // namespace mailfort::auth
