// Small text helpers shared by every layer: ASCII case folding, atext and
// domain name syntax (RFC 1035 LDH labels, RFC 5321 4.1.2). Pure.
#pragma once
#include <string>
#include <string_view>

namespace mailfort {

std::string to_lower(std::string_view s);  // ASCII only; UTF-8 bytes unchanged
std::string to_upper(std::string_view s);  // ASCII only; UTF-8 bytes unchanged
bool iequals(std::string_view a, std::string_view b);
// RFC 5322 3.2.3 atext (printable ASCII but specials, space and DQUOTE);
// bytes >= 0x80 count as atext (UTF-8, RFC 6531/6532: callers that need
// ASCII check that themselves).
bool is_atext(unsigned char c);

// Appends code point `cp` (at most 0x10FFFF) as UTF-8.
void append_utf8(std::string& out, char32_t cp);

// The value of one hexadecimal digit (either case); -1 for anything else.
int hex_value(char c);

// Labels of letters, digits and hyphens (not first or last), 1..63 octets,
// 253 in all, no trailing dot. With allow_utf8, bytes >= 0x80 count as
// letters (U-labels of SMTPUTF8 domains).
bool is_valid_domain(std::string_view d, bool allow_utf8 = false);
// A valid domain with at least two labels whose last label is not numeric.
bool is_fqdn(std::string_view d, bool allow_utf8 = false);

}  // namespace mailfort
