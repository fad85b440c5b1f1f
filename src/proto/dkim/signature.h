// DKIM-Signature header field (RFC 6376 section 3.5) and DKIM key record
// (3.6.1) parsing and validation, RFC 8463 ed25519 and RFC 8301 included.
// Pure, no I/O, no crypto: base64 is decoded, signatures are not checked.
//
// Faces untrusted input (the sender's header, the sender's DNS). Anything
// the RFC calls a syntax or semantic error of the signature is an error
// here (the verifier's permerror); rsa-sha1 parses (the verifier fails it,
// RFC 8301). Bounded: at most kMaxTags tags, kMaxSignedHeaders h= names.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/dkim/tag_list.h"

namespace mailfort::proto::dkim {

inline constexpr std::size_t kMaxSignedHeaders = 256;

enum class KeyType { Rsa, Ed25519 };
enum class Hash { Sha1, Sha256 };
enum class Canon { Simple, Relaxed };

const char* key_type_name(KeyType k);  // "rsa" / "ed25519"
const char* hash_name(Hash h);         // "sha1" / "sha256"

struct Signature {
  std::string algorithm;  // a= lower case: "rsa-sha256", "rsa-sha1", "ed25519-sha256"
  KeyType key_type = KeyType::Rsa;
  Hash hash = Hash::Sha256;
  Canon header_canon = Canon::Simple;
  Canon body_canon = Canon::Simple;
  std::string domain;                // d= lower case
  std::string selector;              // s= as written
  std::string identity;              // i= as written, or "@" + d=
  std::vector<std::string> headers;  // h= names, lower case, in order
  std::string b;                     // b= decoded
  std::string b_text;                // b= base64 with FWS removed
  std::string bh;                    // bh= decoded
  int64_t length = -1;               // l= ; -1 absent
  int64_t timestamp = -1;            // t= ; -1 absent
  int64_t expiration = -1;           // x= ; -1 absent
};

// The value of a DKIM-Signature field (after the colon). Error text is a
// short reason ("missing d= tag", "i= not within d=", ...).
std::optional<Signature> parse_signature(std::string_view value, std::string* error = nullptr);

struct KeyRecord {
  KeyType type = KeyType::Rsa;   // k= (default rsa)
  std::vector<Hash> hashes;      // h= known hashes; empty = any
  bool hash_restricted = false;  // h= present
  std::string public_key;        // p= decoded; empty = revoked
  bool email_service = true;     // s= lists "*" or "email" (or is absent)
  bool testing = false;          // t= flag y
  bool strict_identity = false;  // t= flag s: i= domain must equal d=
};

// One TXT record's text (its strings concatenated).
std::optional<KeyRecord> parse_key_record(std::string_view text, std::string* error = nullptr);

// The numeric tags: 1*DIGIT, at most 18 digits here (values beyond are
// capped to the maximum rather than overflowing); nullopt when not digits.
std::optional<int64_t> parse_decimal(std::string_view s, std::size_t max_digits);

}  // namespace mailfort::proto::dkim
