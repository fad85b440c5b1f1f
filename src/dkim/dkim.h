// DKIM signing (RFC 6376) with rsa-sha256 and ed25519-sha256 (RFC 8463),
// relaxed/relaxed canonicalization, and the key store under
// <data_dir>/dkim. With src/tls, the only code that includes OpenSSL.
//
// Key store layout:
//   <data_dir>/dkim/<domain>.<selector>.key   PEM private key, mode 0600
//   <data_dir>/dkim/<domain>.selectors        active selectors, one a line
// The algorithm is read from the key itself. A domain may have one active
// key per algorithm; with both, mail is signed twice (RFC 8463 section 4).
// The store is read on every use, so `mailfort dkim keygen` reaches a
// running server at once.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::dkim {

enum class Algorithm { Rsa2048, Ed25519 };

const char* algorithm_name(Algorithm a);       // "rsa2048" / "ed25519"
const char* signature_algorithm(Algorithm a);  // "rsa-sha256" / "ed25519-sha256"
const char* key_type(Algorithm a);             // k= of the TXT record: "rsa" / "ed25519"

struct Key {
  std::string domain;  // lower case
  std::string selector;
  Algorithm algorithm = Algorithm::Ed25519;
  std::string pem;  // private key
};

// A new private key as PKCS#8 PEM.
Result<std::string> generate_key_pem(Algorithm a);
// Reads the algorithm of a PEM private key (Invalid for other key types).
Result<Algorithm> key_algorithm(const std::string& pem);
// The p= value: base64 of the SubjectPublicKeyInfo (rsa) or of the raw
// 32-byte public key (ed25519, RFC 8463 section 4.2).
Result<std::string> public_key_base64(const std::string& pem);
// "v=DKIM1; k=ed25519; p=..."
Result<std::string> txt_record(const Key& k);
// "<selector>._domainkey.<domain>"
std::string txt_name(const Key& k);
// A zone-file line: `<name>. IN TXT "..." "..."`, the text split into
// character-strings of at most 255 octets (RFC 1035 3.3.14; rsa2048 needs two).
Result<std::string> zone_record(const Key& k);

// Header fields signed when present (RFC 6376 5.4.1). From is always
// signed, and signed once more than it occurs (over-signing) so a second
// From cannot be added without breaking the signature.
const std::vector<std::string>& signed_header_names();

// The DKIM-Signature header field (folded to lines of at most 78
// characters, ending in CRLF) for `message` (wire form, CRLF line ends)
// signed with `key` at time `t`.
Result<std::string> sign(std::string_view message, const Key& key, int64_t t);

// The raw signature of `data` with `key`, its algorithm read from the PEM:
// rsa-sha256 (RSASSA-PKCS1-v1_5) or ed25519-sha256 (Ed25519 over the
// SHA-256 of `data`, RFC 8463 3). For signers that build their own header
// field, as ARC sealing does (RFC 8617).
Result<std::string> sign_data(const Key& key, std::string_view data);

// Selectors: letters, digits, '-' and '.' separated labels (RFC 6376 3.1).
bool valid_selector(std::string_view s);
// The default selector for a new key: "mf<yyyymm>" plus "e" for ed25519,
// "r" for rsa, so both algorithms can be active under distinct names.
std::string default_selector(Algorithm a, int64_t now);

// Key store.
std::string key_path(const std::string& data_dir, const std::string& domain, const std::string& selector);
// Writes a new key (Exists if that selector's key file is already there) and
// makes it the domain's active key of its algorithm.
Result<Key> create_key(const std::string& data_dir, const std::string& domain, const std::string& selector,
                       Algorithm a);
// The domain's active keys (empty when it has none).
Result<std::vector<Key>> load_keys(const std::string& data_dir, const std::string& domain);

}  // namespace mailfort::dkim
