// Keys and signatures with OpenSSL 3 (EVP only).
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <set>

#include "base/base64.h"
#include "base/text.h"
#include "dkim/canon.h"
#include "dkim/dkim.h"

namespace mailfort::dkim {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string sha256(std::string_view in) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), md, &len, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(md), len);
}

Result<Pkey> read_private(const std::string& pem) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(Errc::Temp, "out of memory");
  Pkey k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!k) return make_error(Errc::Invalid, "not a PEM private key");
  return k;
}

Result<Algorithm> algorithm_of(EVP_PKEY* k) {
  if (EVP_PKEY_is_a(k, "ED25519")) return Algorithm::Ed25519;
  if (EVP_PKEY_is_a(k, "RSA")) {
    if (EVP_PKEY_get_bits(k) < 1024) return make_error(Errc::Invalid, "RSA key shorter than 1024 bits");
    return Algorithm::Rsa2048;
  }
  return make_error(Errc::Invalid, "DKIM keys are RSA or Ed25519");
}

// Signs `data` (rsa: RSASSA-PKCS1-v1_5 with SHA-256 over the data;
// ed25519: PureEdDSA over the SHA-256 of the data, RFC 8463 section 3).
Result<std::string> raw_sign(EVP_PKEY* k, Algorithm a, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return make_error(Errc::Temp, "out of memory");
  std::string input = a == Algorithm::Ed25519 ? sha256(data) : std::string(data);
  const EVP_MD* md = a == Algorithm::Ed25519 ? nullptr : EVP_sha256();
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, k) != 1)
    return make_error(Errc::Perm, "DKIM signing setup failed");
  std::size_t len = 0;
  auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size()) != 1)
    return make_error(Errc::Perm, "DKIM signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) != 1)
    return make_error(Errc::Perm, "DKIM signing failed");
  sig.resize(len);
  return sig;
}

// Builds a header field folded at the given break points: each tag is a
// list of pieces that may be split between; tags are separated by "; ".
class Folder {
 public:
  explicit Folder(std::string start) : out_(std::move(start)), col_(out_.size()) {}
  // `space`: a space precedes the piece when it stays on the line.
  void put(std::string_view piece, bool space) {
    std::size_t need = piece.size() + (space ? 1 : 0);
    if (col_ + need > kWidth && col_ > 1) {
      out_ += "\r\n\t";
      col_ = 1;
    } else if (space) {
      out_.push_back(' ');
      ++col_;
    }
    out_ += piece;
    col_ += piece.size();
  }
  // Appends text that may break anywhere (base64): fills lines.
  void put_breakable(std::string_view s) {
    while (!s.empty()) {
      if (col_ >= kWidth) {
        out_ += "\r\n\t";
        col_ = 1;
      }
      std::size_t n = std::min(s.size(), kWidth - col_);
      out_ += s.substr(0, n);
      col_ += n;
      s.remove_prefix(n);
    }
  }
  const std::string& text() const { return out_; }

 private:
  static constexpr std::size_t kWidth = 78;
  std::string out_;
  std::size_t col_;
};

}  // namespace

const char* algorithm_name(Algorithm a) {
  return a == Algorithm::Ed25519 ? "ed25519" : "rsa2048";
}
const char* signature_algorithm(Algorithm a) {
  return a == Algorithm::Ed25519 ? "ed25519-sha256" : "rsa-sha256";
}
const char* key_type(Algorithm a) {
  return a == Algorithm::Ed25519 ? "ed25519" : "rsa";
}

Result<std::string> generate_key_pem(Algorithm a) {
  Pkey k(a == Algorithm::Ed25519
             ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
             : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)));
  if (!k) return make_error(Errc::Perm, std::string("cannot generate a ") + algorithm_name(a) + " key");
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), k.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return make_error(Errc::Perm, "cannot encode the key");
  char* p = nullptr;
  long n = BIO_get_mem_data(bio.get(), &p);
  return std::string(p, static_cast<std::size_t>(n));
}

Result<Algorithm> key_algorithm(const std::string& pem) {
  auto k = read_private(pem);
  if (!k) return k.error();
  return algorithm_of(k->get());
}

Result<std::string> public_key_base64(const std::string& pem) {
  auto k = read_private(pem);
  if (!k) return k.error();
  auto a = algorithm_of(k->get());
  if (!a) return a.error();
  if (*a == Algorithm::Ed25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k->get(), raw, &len) != 1 || len != 32)
      return make_error(Errc::Perm, "cannot read the Ed25519 public key");
    return base64::encode(std::string_view(reinterpret_cast<char*>(raw), len));
  }
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(k->get(), &der);
  if (n <= 0) return make_error(Errc::Perm, "cannot encode the RSA public key");
  std::string out =
      base64::encode(std::string_view(reinterpret_cast<char*>(der), static_cast<std::size_t>(n)));
  OPENSSL_free(der);
  return out;
}

Result<std::string> txt_record(const Key& key) {
  auto p = public_key_base64(key.pem);
  if (!p) return p.error();
  return std::string("v=DKIM1; k=") + key_type(key.algorithm) + "; p=" + *p;
}

std::string txt_name(const Key& k) {
  return k.selector + "._domainkey." + k.domain;
}

Result<std::string> zone_record(const Key& k) {
  auto txt = txt_record(k);
  if (!txt) return txt.error();
  std::string out = txt_name(k) + ". IN TXT";
  std::string_view rest = *txt;
  while (!rest.empty()) {
    std::size_t n = std::min<std::size_t>(rest.size(), 255);
    out += " \"";
    out += rest.substr(0, n);
    out += "\"";
    rest.remove_prefix(n);
  }
  return out;
}

const std::vector<std::string>& signed_header_names() {
  static const std::vector<std::string> names = {
      "from",     "to",          "cc",         "subject",      "date",         "message-id",
      "reply-to", "in-reply-to", "references", "mime-version", "content-type", "content-transfer-encoding"};
  return names;
}

Result<std::string> sign(std::string_view message, const Key& key, int64_t t) {
  auto k = read_private(key.pem);
  if (!k) return k.error();
  auto alg = algorithm_of(k->get());
  if (!alg) return alg.error();

  SplitMessage m = split_message(message);
  std::string bh = base64::encode(sha256(relaxed_body(m.body)));

  // h=: each present field once per occurrence, From once more. The
  // verifier takes instances from the bottom up (RFC 6376 5.4.2), and so do we.
  std::vector<std::string> h;
  std::string signed_text;
  for (const auto& name : signed_header_names()) {
    std::vector<const HeaderField*> found;
    for (const auto& f : m.fields) {
      std::string_view n = f.name;
      while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
      if (iequals(n, name)) found.push_back(&f);
    }
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      h.push_back(name);
      signed_text += relaxed_header((*it)->name, (*it)->value);
      signed_text += "\r\n";
    }
    if (name == "from") h.push_back(name);  // over-signed: a null instance
  }

  Folder f("DKIM-Signature:");
  f.put("v=1;", true);
  f.put(std::string("a=") + signature_algorithm(*alg) + ";", true);
  f.put("c=relaxed/relaxed;", true);
  f.put("d=" + key.domain + ";", true);
  f.put("s=" + key.selector + ";", true);
  f.put("t=" + std::to_string(t) + ";", true);
  for (std::size_t i = 0; i < h.size(); ++i)
    f.put((i == 0 ? "h=" : ":") + h[i] + (i + 1 == h.size() ? ";" : ""), i == 0);
  f.put("bh=" + bh + ";", true);
  f.put("b=", true);

  // The signature covers the signed fields and this field with an empty b=
  // (RFC 6376 3.7), without its final CRLF.
  const std::string& header = f.text();
  auto colon = header.find(':');
  signed_text +=
      relaxed_header(std::string_view(header).substr(0, colon), std::string_view(header).substr(colon + 1));
  auto sig = raw_sign(k->get(), *alg, signed_text);
  if (!sig) return sig.error();
  f.put_breakable(base64::encode(*sig));
  return f.text() + "\r\n";
}

Result<std::string> sign_data(const Key& key, std::string_view data) {
  auto k = read_private(key.pem);
  if (!k) return k.error();
  auto alg = algorithm_of(k->get());
  if (!alg) return alg.error();
  return raw_sign(k->get(), *alg, data);
}

}  // namespace mailfort::dkim
