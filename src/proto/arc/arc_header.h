// The three ARC header fields of RFC 8617 section 4.1: ARC-Seal,
// ARC-Message-Signature and ARC-Authentication-Results. Pure parsers over
// the field value (everything after the colon, folding included); they
// face untrusted input (any received message), are linear in its length
// and keep nothing but the parsed tags. Signature checks are in src/auth.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::proto::arc {

// RFC 8617 4.2.1: instances run 1..50.
constexpr int kMaxInstance = 50;

enum class SigningAlgorithm { RsaSha256, Ed25519Sha256 };
// "rsa-sha256" / "ed25519-sha256"; rsa-sha1 is not an ARC algorithm
// (RFC 8617 4.1.3 via RFC 8301), so it is Invalid here.
std::optional<SigningAlgorithm> parse_algorithm(std::string_view a);

enum class ChainValidation { None, Pass, Fail };        // cv= of RFC 8617 4.1.3
const char* chain_validation_name(ChainValidation cv);  // "none", "pass", "fail"

struct ArcSeal {
  int instance = 0;
  SigningAlgorithm algorithm = SigningAlgorithm::RsaSha256;
  std::string signature;  // b= decoded
  ChainValidation cv = ChainValidation::None;
  std::string domain;                // d=
  std::string selector;              // s=
  std::optional<int64_t> timestamp;  // t=
};

enum class Canon { Simple, Relaxed };

struct ArcMessageSignature {
  int instance = 0;
  SigningAlgorithm algorithm = SigningAlgorithm::RsaSha256;
  std::string signature;                // b= decoded
  std::string body_hash;                // bh= decoded
  Canon header_canon = Canon::Relaxed;  // c= (ARC's default is relaxed/relaxed)
  Canon body_canon = Canon::Relaxed;
  std::string domain;
  std::string selector;
  std::vector<std::string> headers;  // h=, lower case, empty names dropped
  std::optional<int64_t> timestamp;
};

struct ArcAuthenticationResults {
  int instance = 0;
  std::string authserv_id;
  std::string results;  // the resinfo text after "authserv-id;", unfolded and trimmed
};

// The i= of an ARC field, or nullopt when it has none that parses: what
// grouping the fields into sets needs even when another tag is bad.
std::optional<int> instance_of(std::string_view field_name, std::string_view value);

Result<ArcSeal> parse_arc_seal(std::string_view value);
Result<ArcMessageSignature> parse_arc_message_signature(std::string_view value);
Result<ArcAuthenticationResults> parse_arc_authentication_results(std::string_view value);

// `value` with the b= tag's value removed (everything else kept byte for
// byte), as the signature input needs it (RFC 6376 3.7).
std::string without_signature(std::string_view value);

}  // namespace mailfort::proto::arc
