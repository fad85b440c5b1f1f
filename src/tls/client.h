// Client TLS for outbound SMTP: one shared client context (system trust
// store, TLS 1.2+ by default, DANE enabled) and per-connection parameters
// that say how the peer must be authenticated (Postfix's smtp_tls_security_level
// and the tlspolicies table: none may encrypt dane dane-only fingerprint
// verify secure). Verification is decided after the handshake so the caller
// can log why a policy was not met.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace mailfort::tls {

struct Tlsa {
  uint8_t usage = 3, selector = 1, mtype = 1;  // DANE-EE SPKI SHA-256 by default
  std::string data;                            // raw bytes (not hex)
};

struct ClientParams {
  enum class Verify {
    None,         // encryption only (may, encrypt)
    Dane,         // match one of `tlsa` (RFC 7672: DANE-EE ignores names and expiry)
    Fingerprint,  // leaf certificate or SPKI SHA-256 in `fingerprints` (hex, ':' allowed)
    Ca,           // chain to the system trust store and a name in `match_names`
  };
  std::string sni;  // server name indication (the MX host name)
  Verify verify = Verify::None;
  std::vector<Tlsa> tlsa;
  std::string dane_base_domain;           // TLSA base domain (MX host)
  std::vector<std::string> fingerprints;  // Fingerprint
  std::vector<std::string> match_names;   // Ca: host names; ".example.com" matches subdomains
  // Verify::None only: also check the chain and these names as Ca would,
  // never failing; a failure is logged after `report_label` (MTA-STS
  // testing mode: "what would have failed").
  std::vector<std::string> report_names;
  std::string report_label;
  std::string min_version = "1.2";
};

// Why a peer failed authentication, for TLS reports (RFC 8460 result types).
enum class VerifyError {
  None,
  NoPeerCertificate,
  HostMismatch,         // X509_V_ERR_HOSTNAME_MISMATCH
  Expired,              // X509_V_ERR_CERT_HAS_EXPIRED (also not yet valid)
  NotTrusted,           // no chain to a trust anchor (unknown issuer, self-signed...)
  DaneNoMatch,          // no TLSA record matched the chain
  NoUsableTlsa,         // none of the TLSA records could be loaded
  FingerprintMismatch,  // fingerprint policy
  Other,                // any other verification error
};

struct ClientOutcome {
  bool verified = false;  // the policy's authentication succeeded (always false for None)
  // Verify::None with report_names: the result enforce would have had.
  VerifyError error = VerifyError::None;
  std::string version;  // "TLSv1.3"
  std::string cipher;
  std::string peer_subject;  // for logs
  std::string why;           // verification failure reason
};

class ClientContext {
 public:
  // `ca_file` empty = the system default trust store.
  static Result<std::shared_ptr<ClientContext>> create(const std::string& ca_file = {});
  ~ClientContext();
  void* native() const;  // SSL_CTX*

 private:
  ClientContext() = default;
  void* ctx_ = nullptr;
};

// Decodes "ab:CD:01..." or "abcd01" hex to bytes; empty on bad input.
std::string hex_to_bytes(const std::string& hex);

}  // namespace mailfort::tls
