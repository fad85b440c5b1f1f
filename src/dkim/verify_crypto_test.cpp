// Verification primitives: the RFC 8463 appendix A ed25519 example, RSA
// round trips through the signer, RFC 8301 key sizes, and the streaming
// body canonicalizations against the whole-body ones at every split.
#include <gtest/gtest.h>

#include <string>

#include "base/base64.h"
#include "dkim/canon.h"
#include "dkim/dkim.h"
#include "dkim/verify_crypto.h"

using namespace mailfort;
using namespace mailfort::dkim;

namespace {

std::string b64(std::string_view s) {
  auto d = base64::decode(s);
  EXPECT_TRUE(d) << s;
  return d.value_or("");
}

// RFC 8463 appendix A.2 / A.3.
const char* kRfc8463Key = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
const char* kRfc8463Sig =
    "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==";
const char* kRfc8463Body = "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n";

// The relaxed header hash input of the A.3 signature: h= picks from, to,
// subject, date, message-id, then three absent instances (signed as null),
// then the signature itself with b= empty and no CRLF.
std::string rfc8463_signed_headers() {
  std::string h;
  h += relaxed_header("From", " Joe SixPack <joe@football.example.com>") + "\r\n";
  h += relaxed_header("To", " Suzie Q <suzie@shopping.example.net>") + "\r\n";
  h += relaxed_header("Subject", " Is dinner ready?") + "\r\n";
  h += relaxed_header("Date", " Fri, 11 Jul 2003 21:00:37 -0700 (PDT)") + "\r\n";
  h += relaxed_header("Message-ID", " <20030712040037.46341.5F8J@football.example.com>") + "\r\n";
  h += relaxed_header("DKIM-Signature",
                      " v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
                      " d=football.example.com; i=@football.example.com;\r\n"
                      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
                      " subject : date : message-id : from : subject : date;\r\n"
                      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
                      " b=");
  return h;
}

std::string streamed(bool relaxed, std::string_view body, std::size_t split) {
  std::string out;
  BodyCanonicalizer c(relaxed, [&](std::string_view s) { out.append(s); });
  c.feed(body.substr(0, split));
  c.feed(body.substr(split));
  c.finish();
  return out;
}

}  // namespace

TEST(DkimVerifyCrypto, Rfc8463BodyHash) {
  EXPECT_EQ(base64::encode(digest(Digest::Sha256, relaxed_body(kRfc8463Body))),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

TEST(DkimVerifyCrypto, Rfc8463Ed25519Signature) {
  std::string data = rfc8463_signed_headers();
  auto ok =
      verify_signature(PublicKeyType::Ed25519, Digest::Sha256, b64(kRfc8463Key), data, b64(kRfc8463Sig));
  EXPECT_EQ(ok.status, VerifyOutcome::Status::Ok);
  data[10] ^= 1;
  auto bad =
      verify_signature(PublicKeyType::Ed25519, Digest::Sha256, b64(kRfc8463Key), data, b64(kRfc8463Sig));
  EXPECT_EQ(bad.status, VerifyOutcome::Status::BadSignature);
  auto short_key = verify_signature(PublicKeyType::Ed25519, Digest::Sha256, "abc", data, b64(kRfc8463Sig));
  EXPECT_EQ(short_key.status, VerifyOutcome::Status::BadKey);
}

// Where the b= tag's value starts: "b=" as a tag name (after ';' and
// optional folding whitespace), never "b=" inside base64 data.
static std::size_t b_tag_value(std::string_view field) {
  for (std::size_t at = field.find("b="); at != std::string_view::npos; at = field.find("b=", at + 1)) {
    std::size_t p = at;
    while (p > 0 &&
           (field[p - 1] == ' ' || field[p - 1] == '\t' || field[p - 1] == '\r' || field[p - 1] == '\n'))
      --p;
    if (p > 0 && field[p - 1] == ';') return at + 2;
  }
  return std::string_view::npos;
}

TEST(DkimVerifyCrypto, RsaRoundTripThroughTheSigner) {
  auto pem = generate_key_pem(Algorithm::Rsa2048);
  ASSERT_TRUE(pem);
  auto pub = public_key_base64(*pem);
  ASSERT_TRUE(pub);
  Key key{"a.test", "s1", Algorithm::Rsa2048, *pem};
  std::string msg = "From: x@a.test\r\nSubject: hi\r\n\r\nbody\r\n";
  auto field = sign(msg, key, 1700000000);
  ASSERT_TRUE(field);
  // The b= value is the last tag the signer writes.
  auto b = b_tag_value(*field);
  ASSERT_NE(b, std::string::npos);
  std::string sig;
  for (char c : field->substr(b))
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') sig += c;
  const std::string signed_msg = *field + msg;  // split_message() returns views into it
  auto split = split_message(signed_msg);
  std::string sig_value(split.fields[0].value);
  sig_value.erase(b_tag_value(sig_value));
  // The signer signs From and Subject in its own order; rebuild its input.
  std::string input;
  for (auto& f : split.fields)
    if (f.name == "From") input += relaxed_header(f.name, f.value) + "\r\n";
  for (auto& f : split.fields)
    if (f.name == "Subject") input += relaxed_header(f.name, f.value) + "\r\n";
  input += relaxed_header("DKIM-Signature", sig_value);
  auto r = verify_signature(PublicKeyType::Rsa, Digest::Sha256, b64(*pub), input, b64(sig));
  if (r.status != VerifyOutcome::Status::Ok)
    ADD_FAILURE() << *field << "\n----\n" << input;  // a rare failure seen once
  EXPECT_EQ(r.status, VerifyOutcome::Status::Ok);
  EXPECT_EQ(r.key_bits, 2048);
  auto wrong_digest = verify_signature(PublicKeyType::Rsa, Digest::Sha1, b64(*pub), input, b64(sig));
  EXPECT_EQ(wrong_digest.status, VerifyOutcome::Status::BadSignature);
}

TEST(DkimVerifyCrypto, RsaUnder1024BitsIsRejected) {
  // A 512-bit key and its valid rsa-sha256 signature of "abc" (openssl).
  auto key =
      b64("MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAM8ocsAJTlO9zEXIC3TxEeRZMsmMZ6/dbT8yB0GX3jn/"
          "9MqXyma3FAQEiv2nq7dxR1WkcANEctN+"
          "qfR339q4aTkCAwEAAQ==");
  auto sig = b64("Ly0lbjCZTmbTv3AG8udxSBogmwCUlC4GcMzfxxJlpNC68KGlTMknv+o6UAl/ziGpduqX22syWdJXgh/oAbn35g==");
  auto r = verify_signature(PublicKeyType::Rsa, Digest::Sha256, key, "abc", sig);
  EXPECT_EQ(r.status, VerifyOutcome::Status::KeyTooShort);
  EXPECT_EQ(r.key_bits, 512);
  auto forged = verify_signature(PublicKeyType::Rsa, Digest::Sha256, key, "abd", sig);
  EXPECT_EQ(forged.status, VerifyOutcome::Status::BadSignature);
  auto junk = verify_signature(PublicKeyType::Rsa, Digest::Sha256, "not a key", "abc", sig);
  EXPECT_EQ(junk.status, VerifyOutcome::Status::BadKey);
}

TEST(DkimVerifyCrypto, IncrementalHashEqualsOneShot) {
  Hasher h(Digest::Sha1);
  h.update("ab");
  h.update("");
  h.update("c");
  EXPECT_EQ(base64::encode(h.finish()), "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
}

TEST(DkimCanon, SimpleHeaderAndBody) {
  EXPECT_EQ(simple_header("Subject ", " a \r\n\tb "), "Subject : a \r\n\tb ");
  EXPECT_EQ(simple_body(""), "\r\n");
  EXPECT_EQ(simple_body("\r\n\r\n"), "\r\n");
  EXPECT_EQ(simple_body("a"), "a\r\n");
  EXPECT_EQ(simple_body(" a \r\n\r\n \r\n\r\n"), " a \r\n\r\n \r\n");
  EXPECT_EQ(simple_body("a\r\n\r\nb\r\n\r\n"), "a\r\n\r\nb\r\n");
}

TEST(DkimCanon, StreamingEqualsWholeBodyAtEverySplit) {
  const std::string bodies[] = {
      "",
      "\r\n",
      "a",
      "Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n\r\n\r\n",
      " \t lead\t \r\n\r\n  \r\nx\ry \r\r\n\r\n\t\r\n",
      "bare\nlf\n\n",
      "\r\n\r\n\r\nend",
      "tail\r",
  };
  for (const auto& body : bodies) {
    for (std::size_t i = 0; i <= body.size(); ++i) {
      EXPECT_EQ(streamed(true, body, i), relaxed_body(body)) << i;
      EXPECT_EQ(streamed(false, body, i), simple_body(body)) << i;
    }
  }
  // one octet at a time
  std::string out;
  BodyCanonicalizer c(true, [&](std::string_view s) { out.append(s); });
  for (char ch : bodies[4]) c.feed(std::string_view(&ch, 1));
  c.finish();
  EXPECT_EQ(out, relaxed_body(bodies[4]));
}
