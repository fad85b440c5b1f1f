// A received message as mail authentication sees it while it streams in:
// the header block is kept (bounded), and when it ends the DKIM-Signature
// and ARC-Message-Signature fields say which body hashes are needed
// (canonicalization, hash, l= length); the body is then hashed chunk by
// chunk for each of them and never kept or re-read. The SMTP session feeds
// it the DATA/BDAT bytes as they arrive; `mailfort auth check` feeds a file.
#pragma once
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mailfort::auth {

enum class BodyCanon { Simple, Relaxed };
enum class HashAlg { Sha256, Sha1 };

struct BodyHashSpec {
  BodyCanon canon = BodyCanon::Simple;
  HashAlg alg = HashAlg::Sha256;
  int64_t length = -1;  // l= : hash only this many canonical octets; -1 = all
  auto operator<=>(const BodyHashSpec&) const = default;
};

struct BodyHash {
  std::string digest;              // raw hash bytes
  uint64_t canonical_length = 0;   // octets of the whole canonical body (l= smaller: text was appended)
  bool short_body = false;         // l= larger than the canonical body (the signature fails)
};

class InboundMessage {
 public:
  explicit InboundMessage(std::size_t max_header_bytes = 1024 * 1024);
  ~InboundMessage();
  InboundMessage(const InboundMessage&) = delete;
  InboundMessage& operator=(const InboundMessage&) = delete;

  // Message bytes as received (CRLF line ends, dot-unstuffed), any chunking.
  void feed(std::string_view bytes);
  // After the last byte (a message without a body ends its header here).
  void finish();

  // The header block up to and including the empty line that ends it.
  const std::string& header() const;
  // More than max_header_bytes of header: nothing can be verified.
  bool header_truncated() const;
  // The body hash for `spec`; null when no signature asked for it when the
  // header ended, or before finish().
  const BodyHash* body_hash(const BodyHashSpec& spec) const;
  uint64_t size() const;  // bytes fed

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mailfort::auth
