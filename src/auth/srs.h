// The Sender Rewriting Scheme (SRS) for mail an alias forwards to another
// domain, in the format of libsrs2 and postsrsd, so their addresses and
// ours interoperate:
//   forward  local@dom        -> SRS0=HHHH=TT=dom=local@<forwarding domain>
//   again    SRS0=...@fwd1    -> SRS1=HHHH=fwd1==HHHH=TT=dom=local@<domain>
//   reverse  (bounce)            validates HHHH and TT, gives the address back
// HHHH is the first 4 characters of base64(HMAC-SHA1(secret, lower-cased
// TT+dom+local)), TT the day number mod 1024 in base32. The SPF check at
// the destination then sees our domain, and only we can mint addresses
// that route back through us (no open relay for bounces). Pure but for
// the secret file; reverse() faces untrusted input (RCPT TO local parts),
// runs in linear time and compares hashes in constant time.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace mailfort::auth {

// True for a local part that claims to be SRS ("SRS0" or "SRS1" and a
// separator, any case): such a local part is ours to validate, never a
// mailbox name.
bool looks_like_srs(std::string_view local);

enum class SrsStatus { Valid, Forged, Expired };
const char* srs_status_name(SrsStatus s);  // "valid", "forged", "expired"

struct SrsReversed {
  SrsStatus status = SrsStatus::Forged;
  std::string address;  // Valid: where the bounce goes
  std::string reason;   // otherwise: why (for the log)
};

class Srs {
 public:
  static constexpr int kDefaultMaxAgeDays = 21;  // libsrs2's and postsrsd's default

  // `secrets`: the first signs, all verify (so a secret can be rotated
  // without breaking the bounces of mail already sent). Must not be empty.
  explicit Srs(std::vector<std::string> secrets, int max_age_days = kDefaultMaxAgeDays);

  // The envelope sender for a message forwarded by `domain` (one of ours).
  // A null sender stays null, and so does an address already at `domain`.
  std::string forward(std::string_view sender, std::string_view domain, int64_t now) const;

  // The original address behind `local` (an SRS local part at one of our
  // domains): SRS0 gives local@dom, SRS1 gives the SRS0 address at the
  // first forwarder.
  SrsReversed reverse(std::string_view local, int64_t now) const;

 private:
  std::string hash(const std::string& secret, std::initializer_list<std::string_view> parts) const;
  bool hash_matches(std::string_view given, std::initializer_list<std::string_view> parts) const;

  std::vector<std::string> secrets_;
  int max_age_days_;
};

// Day number mod 1024 as two base32 characters (libsrs2's timestamp).
std::string srs_timestamp(int64_t now);

// Reads the secret file (one secret a line; blank lines ignored), creating
// it first with 32 random bytes (base64, mode 0600, owned by the caller)
// when it does not exist. Perm when it exists but holds no secret.
Result<std::vector<std::string>> load_or_create_srs_secrets(const std::string& path);

}  // namespace mailfort::auth
