// The cryptography DKIM verification needs (RFC 6376 3.3, RFC 8463,
// RFC 8301), kept here because src/dkim is the module allowed to use
// OpenSSL: an incremental hasher for body and header hashes, and one
// signature check for rsa (PKCS#1 v1.5 with SHA-1/SHA-256) and ed25519.
// Faces untrusted input (keys from DNS, signatures from the header):
// every malformed key or signature is a value, never a crash.
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace mailfort::dkim {

enum class Digest { Sha1, Sha256 };

class Hasher {
 public:
  explicit Hasher(Digest d);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void update(std::string_view data);
  // The raw digest; the hasher is spent afterwards.
  std::string finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string digest(Digest d, std::string_view data);

enum class PublicKeyType { Rsa, Ed25519 };

struct VerifyOutcome {
  enum class Status { Ok, BadSignature, BadKey, KeyTooShort };
  Status status = Status::BadKey;
  int key_bits = 0;  // RSA modulus size (0 for ed25519 or an unreadable key)
};

// Checks `signature` over `data`. rsa: `public_key` is a DER
// SubjectPublicKeyInfo (bare PKCS#1 RSAPublicKey is accepted too, as
// verifiers do), the signature RSASSA-PKCS1-v1_5 with `d`; an RSA key under
// 1024 bits is KeyTooShort (RFC 8301 3.2) without checking. ed25519:
// `public_key` is the raw 32-byte key and the signed message is the
// SHA-256 of `data` (RFC 8463 3); `d` must be Sha256.
VerifyOutcome verify_signature(PublicKeyType type, Digest d, std::string_view public_key,
                               std::string_view data, std::string_view signature);

}  // namespace mailfort::dkim
