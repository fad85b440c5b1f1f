// ARC chain validation (RFC 8617 5.2): the sets are collected and checked
// for structure, the newest ARC-Message-Signature is verified like a DKIM
// signature (its body hash from the InboundMessage), then every ARC-Seal
// over the sets up to its own. Key records are looked up once per
// selector and domain. Faces untrusted input; bounded by 50 instances.
#include <map>
#include <optional>
#include <string_view>
#include <vector>

#include "auth/arc.h"
#include "auth/arc_sets.h"
#include "base/text.h"
#include "dkim/canon.h"
#include "dkim/verify_crypto.h"
#include "proto/arc/arc_header.h"
#include "proto/dkim/signature.h"

namespace mailfort::auth {
namespace {

using proto::arc::ArcAuthenticationResults;
using proto::arc::ArcMessageSignature;
using proto::arc::ArcSeal;
using proto::arc::ChainValidation;
using proto::arc::SigningAlgorithm;

// Key records by "<selector>._domainkey.<domain>" for one verification.
class KeyCache {
 public:
  explicit KeyCache(DnsSource& dns) : dns_(dns) {}

  // The signature check of `data`; "" when it verifies, else the reason.
  std::string check(const std::string& domain, const std::string& selector, SigningAlgorithm alg,
                    std::string_view data, std::string_view signature) {
    const Entry& e = lookup(selector + "._domainkey." + domain);
    if (!e.key) return e.reason;
    const proto::dkim::KeyRecord& k = *e.key;
    bool ed = alg == SigningAlgorithm::Ed25519Sha256;
    if (k.type != (ed ? proto::dkim::KeyType::Ed25519 : proto::dkim::KeyType::Rsa))
      return "key type does not match a=";
    if (k.hash_restricted) {
      bool sha256 = false;
      for (auto h : k.hashes) sha256 = sha256 || h == proto::dkim::Hash::Sha256;
      if (!sha256) return "key record h= excludes sha256";
    }
    if (!k.email_service) return "key record is not for email";
    if (k.public_key.empty()) return "key revoked";
    auto r = dkim::verify_signature(ed ? dkim::PublicKeyType::Ed25519 : dkim::PublicKeyType::Rsa,
                                    dkim::Digest::Sha256, k.public_key, data, signature);
    switch (r.status) {
      case dkim::VerifyOutcome::Status::Ok:
        return "";
      case dkim::VerifyOutcome::Status::KeyTooShort:
        return "RSA key shorter than 1024 bits";
      case dkim::VerifyOutcome::Status::BadKey:
        return "unusable public key";
      case dkim::VerifyOutcome::Status::BadSignature:
        break;
    }
    return "signature does not verify";
  }

 private:
  struct Entry {
    std::optional<proto::dkim::KeyRecord> key;
    std::string reason;
  };

  const Entry& lookup(const std::string& name) {
    auto it = cache_.find(name);
    if (it != cache_.end()) return it->second;
    Entry e;
    dns::Answer a = dns_.query(name, dns::Type::TXT);
    if (a.status == dns::Answer::Status::Ok) {
      for (const auto& txt : a.txt) {
        std::string error;
        if (auto k = proto::dkim::parse_key_record(txt, &error)) {
          e.key = std::move(*k);
          break;
        }
        e.reason = "invalid key record at " + name + ": " + error;
      }
      if (!e.key && e.reason.empty()) e.reason = "no key record at " + name;
    } else if (a.status == dns::Answer::Status::NxDomain || a.status == dns::Answer::Status::NoData) {
      e.reason = "no key record at " + name;
    } else {
      e.reason = "DNS failure looking up " + name;
    }
    return cache_.emplace(name, std::move(e)).first->second;
  }

  DnsSource& dns_;
  std::map<std::string, Entry> cache_;
};

std::string canon_header(proto::arc::Canon c, std::string_view name, std::string_view value) {
  return c == proto::arc::Canon::Relaxed ? dkim::relaxed_header(name, value)
                                         : dkim::simple_header(name, value);
}

// The signed fields, then the signature field itself with b= emptied and
// no final CRLF (RFC 6376 3.7).
std::string ams_header_input(const std::vector<dkim::HeaderField>& fields, const dkim::HeaderField& self,
                             const ArcMessageSignature& ams) {
  std::string data = signed_fields_input(fields, ams.headers, ams.header_canon == proto::arc::Canon::Relaxed);
  data += canon_header(ams.header_canon, self.name, proto::arc::without_signature(self.value));
  return data;
}

// RFC 8617 5.1.1: every ARC set from i=1 up to the seal's own, each as
// AAR, AMS, AS, relaxed; the seal itself last with b= emptied.
std::string seal_input(const std::vector<ArcSetFields>& sets, int instance) {
  std::string data;
  for (int i = 1; i <= instance; ++i) {
    const ArcSetFields& s = sets[static_cast<std::size_t>(i - 1)];
    for (const dkim::HeaderField* f : {s.results, s.signature}) {
      data += dkim::relaxed_header(f->name, f->value);
      data += "\r\n";
    }
    if (i < instance) {
      data += dkim::relaxed_header(s.seal->name, s.seal->value);
      data += "\r\n";
    } else {
      data += dkim::relaxed_header(s.seal->name, proto::arc::without_signature(s.seal->value));
    }
  }
  return data;
}

ArcOutcome failed(ArcOutcome out, std::string reason) {
  out.chain = ArcChain::Fail;
  out.reason = std::move(reason);
  return out;
}

}  // namespace

const char* arc_chain_name(ArcChain c) {
  switch (c) {
    case ArcChain::Pass:
      return "pass";
    case ArcChain::Fail:
      return "fail";
    case ArcChain::None:
      break;
  }
  return "none";
}

ArcOutcome verify_arc(const InboundMessage& message, DnsSource& dns, int64_t /*now*/) {
  ArcOutcome out;
  dkim::SplitMessage split = dkim::split_message(message.header());
  ArcSets arc = collect_arc_sets(split.fields);
  if (!arc.any) return out;
  out.instances = arc.newest;
  if (message.header_truncated()) return failed(std::move(out), "header too large to verify");
  if (!arc.error.empty()) return failed(std::move(out), arc.error);

  std::vector<ArcSeal> seals;
  std::vector<ArcMessageSignature> signatures;
  std::vector<ArcAuthenticationResults> results;
  for (int i = 1; i <= arc.newest; ++i) {
    const ArcSetFields& s = arc.sets[static_cast<std::size_t>(i - 1)];
    auto seal = proto::arc::parse_arc_seal(s.seal->value);
    if (!seal) return failed(std::move(out), "ARC-Seal i=" + std::to_string(i) + ": " + seal.error().message);
    auto ams = proto::arc::parse_arc_message_signature(s.signature->value);
    if (!ams)
      return failed(std::move(out),
                    "ARC-Message-Signature i=" + std::to_string(i) + ": " + ams.error().message);
    auto aar = proto::arc::parse_arc_authentication_results(s.results->value);
    if (!aar)
      return failed(std::move(out),
                    "ARC-Authentication-Results i=" + std::to_string(i) + ": " + aar.error().message);
    seals.push_back(std::move(*seal));
    signatures.push_back(std::move(*ams));
    results.push_back(std::move(*aar));
  }
  out.newest_domain = seals.back().domain;
  out.oldest_results = results.front().results;

  // 5.2 step 2: a chain that a sealer already declared failed stays failed.
  if (seals.back().cv == ChainValidation::Fail)
    return failed(std::move(out), "the newest ARC-Seal says cv=fail");
  for (const auto& seal : seals) {
    ChainValidation want = seal.instance == 1 ? ChainValidation::None : ChainValidation::Pass;
    if (seal.cv != want)
      return failed(std::move(out), "ARC-Seal i=" + std::to_string(seal.instance) +
                                        " has cv=" + proto::arc::chain_validation_name(seal.cv));
  }

  KeyCache keys(dns);
  // 5.2 step 3: the newest ARC-Message-Signature must verify.
  const ArcMessageSignature& ams = signatures.back();
  BodyHashSpec spec{ams.body_canon == proto::arc::Canon::Relaxed ? BodyCanon::Relaxed : BodyCanon::Simple,
                    HashAlg::Sha256, -1};
  const BodyHash* bh = message.body_hash(spec);
  if (!bh) return failed(std::move(out), "body hash not computed");
  if (bh->digest != ams.body_hash) return failed(std::move(out), "ARC-Message-Signature body hash mismatch");
  std::string why =
      keys.check(ams.domain, ams.selector, ams.algorithm,
                 ams_header_input(split.fields, *arc.sets.back().signature, ams), ams.signature);
  if (!why.empty())
    return failed(std::move(out), "ARC-Message-Signature i=" + std::to_string(arc.newest) + ": " + why);

  // 5.2 step 5: every ARC-Seal, newest first.
  for (int i = arc.newest; i >= 1; --i) {
    const ArcSeal& seal = seals[static_cast<std::size_t>(i - 1)];
    why = keys.check(seal.domain, seal.selector, seal.algorithm, seal_input(arc.sets, i), seal.signature);
    if (!why.empty()) return failed(std::move(out), "ARC-Seal i=" + std::to_string(i) + ": " + why);
  }
  out.chain = ArcChain::Pass;
  return out;
}

}  // namespace mailfort::auth
