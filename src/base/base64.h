// Base64 (RFC 4648 section 4, the standard alphabet with padding), the one
// implementation: SASL (SMTP, IMAP, POP3 AUTH), DKIM (b=, bh=, p=), TLS
// report attachments and MIME Content-Transfer-Encoding. Pure; decode()
// and decode_lenient() face untrusted input.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::base64 {

// Padded, on one line.
std::string encode(std::string_view in);

// Strict: a multiple of four characters of the alphabet, padding only at
// the end, discarded bits zero (the canonical form, RFC 4648 3.5); no
// whitespace or line breaks. nullopt on anything else.
std::optional<std::string> decode(std::string_view in);

// MIME (RFC 2045 6.8) the way mail readers decode it: characters outside
// the alphabet (line breaks, whitespace, junk) are skipped, '=' ends a
// quantum (so concatenated encodings decode on), a trailing partial
// quantum yields its whole bytes. Never fails; appends to `out`.
void decode_lenient(std::string_view in, std::string& out);

}  // namespace mailfort::base64
