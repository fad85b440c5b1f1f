// ARC sealing (RFC 8617 5.1): a new set of ARC-Authentication-Results,
// ARC-Message-Signature (relaxed/relaxed, like our DKIM signatures) and
// ARC-Seal, signed with the forwarding domain's DKIM key. Tags are written
// in alphabetical order with "; " between them and folded only at those
// spaces and inside b=, so the relaxed form is the one the ValiMail suite
// and dkimpy's `standardize` produce.
#include <string_view>
#include <vector>

#include "auth/arc.h"
#include "auth/arc_sets.h"
#include "base/base64.h"
#include "base/text.h"
#include "dkim/canon.h"
#include "dkim/verify_crypto.h"
#include "proto/arc/arc_header.h"

namespace mailfort::auth {
namespace {

constexpr std::size_t kWidth = 78;

// One header field folded from "; "-separated items, only at those
// spaces, except that with `break_b` the b= value (base64, where FWS is
// ignored) fills lines too.
std::string fold(std::string_view name, const std::vector<std::string>& items, bool break_b = false) {
  std::string out(name);
  out += ":";
  std::size_t col = out.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    std::string item = items[i] + (i + 1 < items.size() ? ";" : "");
    bool breakable = break_b && item.starts_with("b=");
    if (col + 1 + item.size() > kWidth && col > 1 && !breakable) {
      out += "\r\n\t";
      col = 1;
    } else {
      out += ' ';
      ++col;
    }
    std::string_view rest = item;
    while (!rest.empty()) {
      if (breakable && col >= kWidth) {
        out += "\r\n\t";
        col = 1;
      }
      std::size_t n = breakable ? std::min(rest.size(), kWidth - col) : rest.size();
      out += rest.substr(0, n);
      col += n;
      rest.remove_prefix(n);
    }
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// The field folded from `items` and signed: `prefix_input` then the field
// itself with b= emptied, relaxed (RFC 6376 3.7). Folding depends on the
// b= length, so the field is folded around a placeholder of the expected
// length; if the key's signature is longer or shorter it is done again
// with the real length.
Result<std::string> signed_field(std::string_view name, std::vector<std::string> items, std::size_t b_index,
                                 const std::string& prefix_input, const dkim::Key& key, std::size_t& sig_len,
                                 bool break_b) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::size_t b64_len = (sig_len + 2) / 3 * 4;
    items[b_index] = "b=" + std::string(b64_len, 'A');
    std::string folded = fold(name, items, break_b);
    auto colon = folded.find(':');
    std::string input =
        prefix_input +
        dkim::relaxed_header(std::string_view(folded).substr(0, colon),
                             proto::arc::without_signature(std::string_view(folded).substr(colon + 1)));
    auto sig = dkim::sign_data(key, input);
    if (!sig) return sig.error();
    sig_len = sig->size();
    std::string b64 = base64::encode(*sig);
    if (b64.size() != b64_len) continue;
    items[b_index] = "b=" + b64;
    return fold(name, items, break_b);
  }
  return make_error(Errc::Perm, "signature length changed between two signatures");
}

}  // namespace

Result<std::string> arc_seal(std::string_view message, const ArcOutcome& previous,
                             const std::string& authserv_id, const std::string& results, const dkim::Key& key,
                             int64_t now) {
  return arc_seal(message, previous, authserv_id, results, key, now, ArcSealOptions{});
}

Result<std::string> arc_seal(std::string_view message, const ArcOutcome& previous,
                             const std::string& authserv_id, const std::string& results, const dkim::Key& key,
                             int64_t now, const ArcSealOptions& options) {
  auto alg = dkim::key_algorithm(key.pem);
  if (!alg) return alg.error();
  if (authserv_id.empty() || authserv_id.find_first_of("; \t\r\n") != std::string::npos)
    return make_error(Errc::Invalid, "invalid authserv-id");
  dkim::SplitMessage split = dkim::split_message(message);
  ArcSets arc = collect_arc_sets(split.fields);
  if (arc.newest > 0) {
    const ArcSetFields& newest = arc.sets.back();
    if (newest.seal) {
      auto seal = proto::arc::parse_arc_seal(newest.seal->value);
      if (seal && seal->cv == proto::arc::ChainValidation::Fail) return std::string();
    }
  }
  int instance = std::max(arc.newest, previous.instances) + 1;
  if (instance > proto::arc::kMaxInstance)
    return make_error(Errc::Invalid, "the ARC chain already has 50 instances");
  proto::arc::ChainValidation cv = instance == 1 ? proto::arc::ChainValidation::None
                                   : previous.chain == ArcChain::Pass && arc.error.empty()
                                       ? proto::arc::ChainValidation::Pass
                                       : proto::arc::ChainValidation::Fail;
  std::string i = "i=" + std::to_string(instance);
  std::string t = "t=" + std::to_string(now);
  std::string a = std::string("a=") + dkim::signature_algorithm(*alg);
  std::size_t sig_len =
      *alg == dkim::Algorithm::Ed25519 ? 64 : 256;  // RSA: as long as the modulus (2048 bits)

  // ARC-Authentication-Results: "i=N; authserv-id; resinfo; ...".
  std::vector<std::string> aar_items = {i, authserv_id};
  std::string_view rest = results;
  while (true) {
    auto semi = rest.find(';');
    std::string_view piece = trim(rest.substr(0, semi));
    if (!piece.empty()) aar_items.emplace_back(piece);
    if (semi == std::string_view::npos) break;
    rest.remove_prefix(semi + 1);
  }
  if (aar_items.size() == 2) aar_items.emplace_back("none");
  std::string aar = fold("ARC-Authentication-Results", aar_items);

  // ARC-Message-Signature over the chosen fields, bottom-up per name.
  std::vector<std::string> h = options.signed_headers;
  if (h.empty()) {
    for (const auto& name : dkim::signed_header_names()) {
      for (const auto& f : split.fields)
        if (iequals(bare_name(f), name)) h.push_back(name);
      if (name == "from") h.push_back(name);  // over-signed, as our DKIM signatures are
    }
  }
  for (auto& name : h) {
    name = to_lower(name);
    if (name == "arc-seal") return make_error(Errc::Invalid, "ARC-Message-Signature must not sign ARC-Seal");
  }
  std::string ams_input = signed_fields_input(split.fields, h, true);
  std::string h_value;
  for (const auto& name : h) h_value += (h_value.empty() ? "" : ":") + name;
  std::string bh = base64::encode(dkim::digest(dkim::Digest::Sha256, dkim::relaxed_body(split.body)));
  std::vector<std::string> ams_items = {
      a, "b=", "bh=" + bh, "c=relaxed/relaxed", "d=" + key.domain, "h=" + h_value, i, "s=" + key.selector, t};
  // The AMS b= stays unbroken: the seal of this set covers it, relaxed, and
  // a fold inside would become a space there. Unbroken, the seal input is
  // the one other sealers (dkimpy) produce, which the ValiMail signing
  // cases check signature for signature.
  auto ams = signed_field("ARC-Message-Signature", ams_items, 1, ams_input, key, sig_len, false);
  if (!ams) return ams.error();

  // ARC-Seal over the chain so far and the new set; a failed chain's seal
  // covers only the new set (RFC 8617 5.1.1).
  std::string seal_input;
  if (cv != proto::arc::ChainValidation::Fail) {
    for (const auto& s : arc.sets)
      for (const dkim::HeaderField* f : {s.results, s.signature, s.seal}) {
        seal_input += dkim::relaxed_header(f->name, f->value);
        seal_input += "\r\n";
      }
  }
  for (const std::string* f : {&aar, &*ams}) {
    auto colon = f->find(':');
    seal_input +=
        dkim::relaxed_header(std::string_view(*f).substr(0, colon), std::string_view(*f).substr(colon + 1));
    seal_input += "\r\n";
  }
  std::vector<std::string> seal_items = {a,
                                         "b=",
                                         std::string("cv=") + proto::arc::chain_validation_name(cv),
                                         "d=" + key.domain,
                                         i,
                                         "s=" + key.selector,
                                         t};
  auto seal = signed_field("ARC-Seal", seal_items, 1, seal_input, key, sig_len, true);
  if (!seal) return seal.error();
  return *seal + "\r\n" + *ams + "\r\n" + aar + "\r\n";
}

}  // namespace mailfort::auth
