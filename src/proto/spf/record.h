// SPF records (RFC 7208 4.5, 4.6, 5, 6, 12): selecting the "v=spf1" record
// among a name's TXT records and parsing it into directives and modifiers.
// Pure, no I/O: src/auth/spf.cpp walks DNS with the result.
//
// Faces untrusted input (any domain's TXT records). Parsing is strict to
// the RFC's ABNF: any syntax error anywhere in the record is a permerror,
// even after a mechanism that would match (4.6). Unknown modifiers are
// ignored but their value must still be a valid macro-string; redirect=
// and exp= may appear at most once each. Linear in the record length; the
// record itself is bounded by the DNS message size.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::spf {

enum class Qualifier { Pass, Fail, SoftFail, Neutral };  // + - ~ ?
enum class Mechanism { All, Include, A, Mx, Ptr, Ip4, Ip6, Exists };

const char* mechanism_name(Mechanism m);  // "all", "include", ...

struct Directive {
  Qualifier qualifier = Qualifier::Pass;
  Mechanism mechanism = Mechanism::All;
  // include/exists: required; a/mx/ptr: "" means the current domain.
  // Unexpanded macro-string, already checked to be a valid domain-spec.
  std::string domain_spec;
  // ip4 / ip6: the network in network byte order (ip4 uses the first 4).
  std::array<uint8_t, 16> network{};
  // CIDR prefix lengths: ip4 and a/mx for IPv4 (0..32), ip6 and a/mx for
  // IPv6 (0..128).
  int cidr4 = 32;
  int cidr6 = 128;
  std::string text;  // the term as written, for logs
};

struct Record {
  std::vector<Directive> directives;
  std::optional<std::string> redirect;  // domain-spec
  std::optional<std::string> exp;       // domain-spec
};

struct ParseResult {
  std::optional<Record> record;  // nullopt = permerror
  std::string error;             // why, when nullopt
};

// True when `txt` (one TXT record, its strings concatenated) starts with a
// version section "v=spf1" ended by a space or the end (4.5).
bool is_spf_record(std::string_view txt);

// Parses one record that is_spf_record() accepted.
ParseResult parse_record(std::string_view txt);

// RFC 7208 4.6.1 domain-spec: a macro-string ending in a macro-expand or in
// "." toplabel ["."].
bool valid_domain_spec(std::string_view spec);

// Address text to bytes: dotted quad (exactly four decimal octets) or any
// RFC 4291 2.2 IPv6 form. nullopt when invalid.
std::optional<std::array<uint8_t, 4>> parse_ip4(std::string_view text);
std::optional<std::array<uint8_t, 16>> parse_ip6(std::string_view text);

// Whether the first `bits` bits of `a` and `b` (each `len` bytes) agree.
bool prefix_match(const uint8_t* a, const uint8_t* b, std::size_t len, int bits);

}  // namespace mailfort::proto::spf
