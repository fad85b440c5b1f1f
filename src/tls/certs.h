// Certificate helpers for `mailfort init` and `mailfort check`.
#pragma once
#include <string>
#include <vector>

#include "base/result.h"

namespace mailfort::tls {

// Writes a self-signed certificate (ECDSA P-256, SAN = hostname, 825 days)
// and its key (mode 0600). Refuses to overwrite existing files.
Result<void> generate_self_signed(const std::string& hostname, const std::string& cert_file,
                                  const std::string& key_file);

// Problems with a cert/key pair, as one message each: unreadable file, not
// PEM, key does not match the certificate, expired or not yet valid.
// Empty vector = fine. Problems mention only the file, not key material.
struct CertProblem {
  enum class Which { Cert, Key } which;
  std::string message;
};
std::vector<CertProblem> check_cert_key(const std::string& cert_file, const std::string& key_file);

// SHA-256 of the leaf certificate's SubjectPublicKeyInfo, hex (for TLSA 3 1 1).
Result<std::string> spki_sha256_hex(const std::string& cert_file);

}  // namespace mailfort::tls
