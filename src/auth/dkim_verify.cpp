// DKIM verification, one DkimResult per DKIM-Signature field from the top:
// parse (permerror), RFC 8301 rsa-sha1 (fail), x= expiry (permerror), key
// lookup at <s>._domainkey.<d> (NXDOMAIN/no TXT: permerror "no key";
// SERVFAIL/timeout: temperror), key record checks (permerror), body hash
// from the InboundMessage (fail), then the header signature (fail).
#include "auth/dkim_verify.h"

#include <map>
#include <optional>

#include "base/text.h"
#include "dkim/canon.h"
#include "dkim/verify_crypto.h"
#include "proto/dkim/signature.h"
#include "proto/dkim/tag_list.h"

namespace mailfort::auth {
namespace {

namespace pd = proto::dkim;

// Clocks of signer and verifier disagree; a signature is taken as expired
// only this long after its x= (RFC 6376 3.5 lets verifiers be lenient).
constexpr int64_t kClockSkewSeconds = 300;

std::string_view field_name(const dkim::HeaderField& f) {
  std::string_view n = f.name;
  while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
  return n;
}

struct KeyLookup {
  std::optional<pd::KeyRecord> key;
  DkimStatus status = DkimStatus::PermError;  // when !key
  std::string reason;
};

KeyLookup fetch_key(DnsSource& dns, const pd::Signature& sig) {
  KeyLookup out;
  auto answer = dns.query(sig.selector + "._domainkey." + sig.domain, dns::Type::TXT);
  using S = dns::Answer::Status;
  switch (answer.status) {
    case S::Ok:
      break;
    case S::NxDomain:
    case S::NoData:
      out.reason = "no key";
      return out;
    case S::Bogus:
    case S::ServFail:
    case S::Error:
      out.status = DkimStatus::TempError;
      out.reason = std::string("key lookup failed (") + dns::status_name(answer.status) + ")";
      return out;
  }
  if (answer.txt.empty()) {
    out.reason = "no key";
    return out;
  }
  // Several records: the first that parses (RFC 6376 3.6.2.2 leaves the
  // choice to the verifier).
  std::string first_error;
  for (const auto& txt : answer.txt) {
    std::string error;
    if (auto k = pd::parse_key_record(txt, &error)) {
      out.key = std::move(*k);
      return out;
    }
    if (first_error.empty()) first_error = error;
  }
  out.reason = "bad key record: " + first_error;
  return out;
}

// The header hash input (RFC 6376 3.7): the h= fields picked bottom-up
// (5.4.2; a name with no instance left is signed as null), then this
// signature field with b= emptied, canonicalized, without its CRLF.
std::string signed_header_data(const std::vector<dkim::HeaderField>& fields, std::size_t self,
                               const pd::Signature& sig) {
  bool relaxed = sig.header_canon == pd::Canon::Relaxed;
  auto canon = [&](std::string_view name, std::string_view value) {
    return relaxed ? dkim::relaxed_header(name, value) : dkim::simple_header(name, value);
  };
  std::string data;
  std::map<std::string, std::size_t> used;  // lower-case name -> instances taken from the bottom
  for (const auto& name : sig.headers) {
    std::size_t skip = used[name]++;
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (!iequals(field_name(fields[i]), name)) continue;
      if (skip > 0) {
        --skip;
        continue;
      }
      data += canon(fields[i].name, fields[i].value);
      data += "\r\n";
      break;
    }
  }
  std::string_view value = fields[self].value;
  std::string blanked(value);
  if (auto tags = pd::parse_tag_list(value))
    if (auto* b = tags->find("b"))
      blanked = std::string(value.substr(0, b->value_begin)) + std::string(value.substr(b->value_end));
  data += canon(fields[self].name, blanked);
  return data;
}

DkimResult verify_one(const InboundMessage& message, const std::vector<dkim::HeaderField>& fields,
                      std::size_t self, DnsSource& dns, int64_t now) {
  DkimResult r;
  std::string error;
  auto sig = pd::parse_signature(fields[self].value, &error);
  if (!sig) {
    // Name what can be named of a broken signature for the report.
    if (auto tags = pd::parse_tag_list(fields[self].value)) {
      if (auto* d = tags->find("d")) r.domain = to_lower(d->value);
      if (auto* s = tags->find("s")) r.selector = std::string(s->value);
      if (auto* a = tags->find("a")) r.algorithm = std::string(a->value);
      if (auto* b = tags->find("b")) r.b = pd::strip_fws(b->value).substr(0, 8);
    }
    r.status = DkimStatus::PermError;
    r.reason = "bad signature: " + error;
    return r;
  }
  r.domain = sig->domain;
  r.selector = sig->selector;
  r.algorithm = sig->algorithm;
  r.identity = sig->identity;
  r.b = sig->b_text.substr(0, 8);
  r.length_limited = sig->length >= 0;

  if (sig->hash == pd::Hash::Sha1) {
    r.status = DkimStatus::Fail;
    r.reason = "rsa-sha1 is not accepted (RFC 8301)";
    return r;
  }
  if (sig->expiration >= 0 && now > sig->expiration + kClockSkewSeconds) {
    r.status = DkimStatus::PermError;
    r.reason = "signature expired";
    return r;
  }

  auto lookup = fetch_key(dns, *sig);
  if (!lookup.key) {
    r.status = lookup.status;
    r.reason = lookup.reason;
    return r;
  }
  const pd::KeyRecord& key = *lookup.key;
  r.testing = key.testing;
  r.status = DkimStatus::PermError;
  if (key.public_key.empty()) {
    r.reason = "key revoked";
    return r;
  }
  if (key.type != sig->key_type) {
    r.reason = "key type does not match a=";
    return r;
  }
  if (key.hash_restricted) {
    bool allowed = false;
    for (auto h : key.hashes) allowed |= h == sig->hash;
    if (!allowed) {
      r.reason = "key h= does not allow the hash";
      return r;
    }
  }
  if (!key.email_service) {
    r.reason = "key not for email (s=)";
    return r;
  }
  if (key.strict_identity) {
    auto at = sig->identity.rfind('@');
    if (!iequals(std::string_view(sig->identity).substr(at + 1), sig->domain)) {
      r.reason = "key t=s requires the i= domain to be d=";
      return r;
    }
  }

  BodyHashSpec spec{sig->body_canon == pd::Canon::Relaxed ? BodyCanon::Relaxed : BodyCanon::Simple,
                    sig->hash == pd::Hash::Sha1 ? HashAlg::Sha1 : HashAlg::Sha256, sig->length};
  const BodyHash* body = message.body_hash(spec);
  if (!body) {
    r.status = DkimStatus::TempError;
    r.reason = "body was not hashed";
    return r;
  }
  r.status = DkimStatus::Fail;
  if (body->short_body) {
    r.reason = "l= longer than the body";
    return r;
  }
  if (body->digest != sig->bh) {
    r.reason = "body hash mismatch";
    return r;
  }

  auto outcome = dkim::verify_signature(
      key.type == pd::KeyType::Ed25519 ? dkim::PublicKeyType::Ed25519 : dkim::PublicKeyType::Rsa,
      sig->hash == pd::Hash::Sha1 ? dkim::Digest::Sha1 : dkim::Digest::Sha256, key.public_key,
      signed_header_data(fields, self, *sig), sig->b);
  using V = dkim::VerifyOutcome::Status;
  switch (outcome.status) {
    case V::Ok:
      r.status = DkimStatus::Pass;
      r.reason.clear();
      break;
    case V::BadSignature:
      r.reason = "signature did not verify";
      break;
    case V::KeyTooShort:
      r.reason = "RSA key of " + std::to_string(outcome.key_bits) + " bits, under 1024 (RFC 8301)";
      break;
    case V::BadKey:
      r.status = DkimStatus::PermError;
      r.reason = "bad public key";
      break;
  }
  return r;
}

}  // namespace

const char* dkim_status_name(DkimStatus s) {
  switch (s) {
    case DkimStatus::Pass:
      return "pass";
    case DkimStatus::Fail:
      return "fail";
    case DkimStatus::Neutral:
      return "neutral";
    case DkimStatus::Policy:
      return "policy";
    case DkimStatus::TempError:
      return "temperror";
    case DkimStatus::PermError:
      return "permerror";
  }
  return "permerror";
}

std::vector<DkimResult> verify_dkim(const InboundMessage& message, DnsSource& dns, int64_t now,
                                    const DkimLimits& limits) {
  std::vector<DkimResult> results;
  if (message.header_truncated()) {
    DkimResult r;
    r.reason = "header too large to verify";
    results.push_back(std::move(r));
    return results;
  }
  auto fields = dkim::split_message(message.header()).fields;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!iequals(field_name(fields[i]), "DKIM-Signature")) continue;
    if (results.size() >= limits.max_signatures) {
      DkimResult r;
      if (auto tags = proto::dkim::parse_tag_list(fields[i].value)) {
        if (auto* d = tags->find("d")) r.domain = to_lower(d->value);
        if (auto* s = tags->find("s")) r.selector = std::string(s->value);
      }
      r.reason = "too many signatures";
      results.push_back(std::move(r));
      continue;
    }
    results.push_back(verify_one(message, fields, i, dns, now));
  }
  return results;
}

}  // namespace mailfort::auth
