// MTA-STS (RFC 8461) wire formats: the `_mta-sts.<domain>` TXT record
// (3.1), the policy file served at
// https://mta-sts.<domain>/.well-known/mta-sts.txt (3.2) and MX host
// pattern matching (4.1). Pure functions, no I/O.
//
// Faces untrusted input (DNS answers and an HTTPS body chosen by the
// recipient domain, or anyone on the path for the TXT record). Parsing is
// strict to the RFC's ABNF: anything invalid means "no policy" (nullopt).
// Unknown keys are ignored; repeated non-mx keys keep their first value
// (3.2). Limits: id 1..32 characters, max_age clamped to 31557600 s,
// at most kMaxMxPatterns mx patterns; the caller caps the body size.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::mtasts {

inline constexpr uint32_t kMaxAge = 31557600;  // RFC 8461 3.2: one year
inline constexpr std::size_t kMaxMxPatterns = 64;

struct TxtRecord {
  std::string id;  // 1*32(ALPHA / DIGIT)
};

// One TXT record's text (its strings concatenated).
std::optional<TxtRecord> parse_txt(std::string_view record);

// All TXT records at _mta-sts.<domain>: records not starting with
// "v=STSv1" are discarded; exactly one must remain and be valid (3.1).
std::optional<TxtRecord> select_txt(const std::vector<std::string>& records);

enum class Mode { Enforce, Testing, None };
const char* mode_name(Mode m);

struct Policy {
  Mode mode = Mode::None;
  uint32_t max_age = 0;         // seconds, <= kMaxAge
  std::vector<std::string> mx;  // lower-case; "*.example.com" or "mx.example.com"
};

// The policy file body (LF or CRLF line ends).
std::optional<Policy> parse_policy(std::string_view body);

// RFC 8461 4.1: case-insensitive; "*.example.com" matches exactly one
// extra leftmost label ("mx.example.com", not "example.com" nor
// "a.b.example.com"). A trailing dot on `host` is ignored.
bool mx_pattern_matches(std::string_view pattern, std::string_view host);
bool policy_allows_mx(const Policy& p, std::string_view host);

// The publishing side (`mailfort dns`): the policy file (CRLF lines) and an
// id for the TXT record that changes whenever the file does (FNV-1a 64 of
// the text, 16 hex digits: an id only has to differ, not to be secret).
std::string format_policy(const Policy& p);
std::string policy_id(std::string_view policy_text);

}  // namespace mailfort::proto::mtasts
