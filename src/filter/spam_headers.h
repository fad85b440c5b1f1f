// Our spam headers in Rspamd's format, and the removal of the same headers
// arriving from outside (a sender cannot pre-label its mail):
//   X-Spamd-Result: default: False [1.20 / 6.00];
//   	R_SPF_ALLOW(-0.20)[+ip4:192.0.2.0/24];
//   	...
//   X-Spamd-Bar: +
//   X-Spam-Level: *
//   X-Spam-Flag: YES        (at or above add_header_score)
//   X-Spam: Yes             (at or above add_header_score)
//   X-Spam-Status: Yes, score=7.10   (idem; No, score=... below)
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "filter/scan.h"

namespace mailfort::filter {

// The header fields (each ending CRLF, folded) for a result.
std::string spam_header_fields(const ScanResult& r);

// X-Spamd-Bar: "+" per point above 0 (at most 50), "-" per point below, "/" at 0.
std::string spamd_bar(double score);

// `message` without any X-Spamd-Result, X-Spamd-Bar, X-Spam-Level,
// X-Spam-Flag, X-Spam, X-Spam-Status, X-Spam-Score, X-Virus-Scanned /
// X-Mailfort-Virus-Scan fields of its top-level header (any case, any
// folding); the body untouched.
std::string strip_spam_headers(std::string_view message);

// The names strip_spam_headers() removes (lowercase).
const std::vector<std::string>& spam_header_names();

}  // namespace mailfort::filter
