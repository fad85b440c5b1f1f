// The header is kept up to its limit; at its end every DKIM-Signature and
// ARC-Message-Signature field names a body hash (c=, a=, l=), and each
// distinct one gets a streaming canonicalizer and hasher fed with every
// body chunk. Fields that do not parse are skipped here: the verifier
// reports them.
#include "auth/inbound_message.h"

#include <vector>

#include "base/text.h"
#include "dkim/canon.h"
#include "dkim/verify_crypto.h"
#include "proto/dkim/signature.h"
#include "proto/dkim/tag_list.h"

namespace mailfort::auth {
namespace {

// Distinct body hashes computed per message: each costs a pass over the
// body, so a sender cannot make us hash it hundreds of times.
constexpr std::size_t kMaxBodyHashes = 16;

struct BodyHasher {
  BodyHashSpec spec;
  dkim::Hasher hasher;
  std::unique_ptr<dkim::BodyCanonicalizer> canon;
  BodyHash result;
  bool done = false;

  explicit BodyHasher(const BodyHashSpec& s)
      : spec(s), hasher(s.alg == HashAlg::Sha1 ? dkim::Digest::Sha1 : dkim::Digest::Sha256) {
    canon = std::make_unique<dkim::BodyCanonicalizer>(spec.canon == BodyCanon::Relaxed,
                                                      [this](std::string_view bytes) { take(bytes); });
  }

  void take(std::string_view bytes) {
    uint64_t before = result.canonical_length;
    result.canonical_length += bytes.size();
    if (spec.length < 0) {
      hasher.update(bytes);
      return;
    }
    auto limit = static_cast<uint64_t>(spec.length);
    if (before >= limit) return;
    hasher.update(
        bytes.substr(0, static_cast<std::size_t>(std::min<uint64_t>(bytes.size(), limit - before))));
  }

  void finish() {
    canon->finish();
    result.digest = hasher.finish();
    result.short_body = spec.length >= 0 && static_cast<uint64_t>(spec.length) > result.canonical_length;
    done = true;
  }
};

// The body hash a DKIM-Signature or ARC-Message-Signature value asks for.
// Without c=, DKIM means simple; ARC means relaxed, as its verifiers and
// the ValiMail suite (case ams_fields_c_na) read RFC 8617 4.1.2.
std::optional<BodyHashSpec> spec_of(std::string_view value, bool arc) {
  auto tags = proto::dkim::parse_tag_list(value);
  if (!tags) return std::nullopt;
  BodyHashSpec spec;
  if (arc) spec.canon = BodyCanon::Relaxed;
  auto* a = tags->find("a");
  if (!a) return std::nullopt;
  std::string alg = to_lower(a->value);
  if (alg.ends_with("-sha256"))
    spec.alg = HashAlg::Sha256;
  else if (alg.ends_with("-sha1"))
    spec.alg = HashAlg::Sha1;
  else
    return std::nullopt;
  if (auto* c = tags->find("c")) {
    auto slash = c->value.find('/');
    std::string_view body = slash == std::string_view::npos ? "simple" : c->value.substr(slash + 1);
    if (iequals(body, "relaxed"))
      spec.canon = BodyCanon::Relaxed;
    else if (iequals(body, "simple"))
      spec.canon = BodyCanon::Simple;
    else
      return std::nullopt;
  }
  if (auto* l = tags->find("l")) {
    auto n = proto::dkim::parse_decimal(l->value, 76);
    if (!n) return std::nullopt;
    spec.length = *n;
  }
  return spec;
}

}  // namespace

struct InboundMessage::State {
  std::size_t max_header = 0;
  std::string header;
  bool truncated = false;
  bool in_header = true;
  bool finished = false;
  uint64_t size = 0;
  // Octets of the current header line so far, its last one, to find the
  // empty line that ends the header (also after truncation).
  std::size_t line_octets = 0;
  char last = 0;
  std::vector<std::unique_ptr<BodyHasher>> hashers;

  // Feeds header octets; returns how many of `in` belonged to the header.
  std::size_t feed_header(std::string_view in) {
    for (std::size_t i = 0; i < in.size(); ++i) {
      char c = in[i];
      if (!truncated) {
        if (header.size() >= max_header) {
          truncated = true;
          header.clear();
          header.shrink_to_fit();
        } else {
          header.push_back(c);
        }
      }
      // The header ends at an empty line (CRLF, or a bare LF as
      // split_message() accepts), also when the message starts with it.
      bool end = c == '\n' && (line_octets == 0 || (line_octets == 1 && last == '\r'));
      line_octets = c == '\n' ? 0 : line_octets + 1;
      last = c;
      if (end) {
        header_ended();
        return i + 1;
      }
    }
    return in.size();
  }

  void header_ended() {
    in_header = false;
    if (truncated) return;
    for (const auto& f : dkim::split_message(header).fields) {
      std::string_view name = f.name;
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (!iequals(name, "DKIM-Signature") && !iequals(name, "ARC-Message-Signature")) continue;
      auto spec = spec_of(f.value, iequals(name, "ARC-Message-Signature"));
      if (!spec) continue;
      bool known = false;
      for (auto& h : hashers) known |= h->spec == *spec;
      if (!known && hashers.size() < kMaxBodyHashes) hashers.push_back(std::make_unique<BodyHasher>(*spec));
    }
  }
};

InboundMessage::InboundMessage(std::size_t max_header_bytes) : state_(std::make_unique<State>()) {
  state_->max_header = max_header_bytes;
}
InboundMessage::~InboundMessage() = default;

void InboundMessage::feed(std::string_view bytes) {
  auto& s = *state_;
  if (s.finished) return;
  s.size += bytes.size();
  if (s.in_header) bytes.remove_prefix(s.feed_header(bytes));
  if (bytes.empty()) return;
  for (auto& h : s.hashers) h->canon->feed(bytes);
}

void InboundMessage::finish() {
  auto& s = *state_;
  if (s.finished) return;
  if (s.in_header) s.header_ended();
  for (auto& h : s.hashers) h->finish();
  s.finished = true;
}

const std::string& InboundMessage::header() const {
  return state_->header;
}
bool InboundMessage::header_truncated() const {
  return state_->truncated;
}
uint64_t InboundMessage::size() const {
  return state_->size;
}

const BodyHash* InboundMessage::body_hash(const BodyHashSpec& spec) const {
  if (!state_->finished) return nullptr;
  for (auto& h : state_->hashers)
    if (h->spec == spec) return &h->result;
  return nullptr;
}

}  // namespace mailfort::auth
