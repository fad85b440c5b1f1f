// SPF macro expansion (RFC 7208 7): %{s l o d i p v h c r t} with
// transformers (a digit count of right-hand parts, r for reversal),
// delimiters . - + , / _ =, upper-case letters URL-escaped, and %% %_ %-.
// Pure, no I/O: %{p} needs DNS, so the caller supplies it through a
// callback that is only called when the string uses it.
//
// Faces untrusted input (macro-strings in any domain's records, values from
// the SMTP client). Output is bounded: a domain-spec expansion is cut to
// 253 octets by dropping labels from the left (7.3), an explanation to
// kMaxExplanation octets; the digit transformer is clamped, so no input
// can make expansion overflow or allocate without bound (the
// CVE-2021-20314 class).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::proto::spf {

inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::size_t kMaxExplanation = 1024;

struct MacroValues {
  std::string sender;                           // s: <sender> (local@domain)
  std::string local_part;                       // l
  std::string sender_domain;                    // o
  std::string domain;                           // d: the current domain
  std::string ip;                               // the client IP in its usual text form (c), v4 or v6
  bool ipv6 = false;                            // i as 32 dot-separated nibbles; v = "ip6"
  std::string helo;                             // h
  std::string receiver;                         // r ("unknown" when empty)
  int64_t now = 0;                              // t
  std::function<std::string()> validated_name;  // p ("unknown" when none)
};

enum class MacroUse {
  DomainSpec,   // c, r and t are not allowed; result cut to 253 octets
  Explanation,  // every letter; spaces allowed; result capped
};

// nullopt on a syntax error (a '%' not starting a valid macro, a letter
// not allowed here, a zero digit transformer, a character outside the
// macro-literal range).
std::optional<std::string> expand(std::string_view macro_string, const MacroValues& values, MacroUse use);

// Syntax check only (no values needed): what expand() would reject.
bool valid_macro_string(std::string_view macro_string, MacroUse use);

// The %{i} form of an address: dotted quad, or 32 dot-separated upper-case
// nibbles.
std::string ip_macro_form(std::string_view ip, bool ipv6);

}  // namespace mailfort::proto::spf
