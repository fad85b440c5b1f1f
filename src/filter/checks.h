// The built-in checks, each adding named symbols with weights (the weight
// table and every symbol are documented in docs/spam-filter.md):
// GTUBE, the mail authentication results, DNSBL/DNSWL of the client,
// header sanity, MIME sanity. Pure functions of the message view and the
// scan input (DNS answers are passed in), unit-tested on their own.
#pragma once
#include <ctime>
#include <string>
#include <vector>

#include "filter/scan.h"

namespace mailfort::filter {

class MessageView;

// The GTUBE test string in the body: the 554 text, else "".
std::string check_gtube(const MessageView& view);

// SPF fail/softfail/permerror, DKIM fail/permerror, DMARC fail/none, ARC
// fail, and the matching *_ALLOW symbols (negative weights) on pass.
void check_auth(const ScanInput& in, std::vector<Symbol>& out);

// A listing of the client IP: the list's domain and its A answer.
struct IpListing {
  std::string list;     // "zen.spamhaus.org"
  std::string address;  // "127.0.0.2"
  bool allow = false;   // a DNSWL (negative weight in [inbound] dnsbl)
  int weight = 0;       // the [inbound] dnsbl weight
};
void check_ip_listings(const std::vector<IpListing>& listings, std::vector<Symbol>& out);

// Missing or malformed Date/Message-ID, Date far in the future or past
// (relative to `now`), From display name containing another address,
// Reply-To to a freemail domain differing from From, our own domain in
// From without authentication, forged or broken Received chains, several
// From/Subject fields.
void check_headers(const MessageView& view, const ScanInput& in, std::time_t now, std::vector<Symbol>& out);

// HTML-only, text and HTML alternatives that differ wildly, charset
// mismatches (undeclared 8-bit, unknown charset), executable or
// double-extension attachments, encrypted archives (zip/rar/7z), oversized
// base64 lines, too many parts / too deep nesting.
void check_mime(const MessageView& view, std::vector<Symbol>& out);

}  // namespace mailfort::filter
