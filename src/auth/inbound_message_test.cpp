#include "auth/inbound_message.h"

#include <gtest/gtest.h>

#include "base/base64.h"
#include "dkim/canon.h"
#include "dkim/verify_crypto.h"

using namespace mailfort;
using namespace mailfort::auth;

namespace {

const std::string kHeader =
    "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=a.test; s=s;\r\n"
    "\th=from; bh=YWJj; b=YWJj\r\n"
    "DKIM-Signature: v=1; a=ed25519-sha256; c=simple/simple; d=a.test; s=e; h=from; bh=YWJj; b=YWJj\r\n"
    "dkim-signature : v=1; a=rsa-sha256; c=relaxed; l=7; d=a.test; s=l; h=from; bh=YWJj; b=YWJj\r\n"
    "ARC-Message-Signature: i=1; a=rsa-sha1; c=relaxed/relaxed; d=a.test; s=x; h=from; bh=YWJj; b=YWJj\r\n"
    "DKIM-Signature: v=1; a=rsa-sha256; c=nonsense; d=a.test; s=s; h=from; bh=YWJj; b=YWJj\r\n"
    "From: a@a.test\r\n"
    "\r\n";
const std::string kBody = "Hello  world \r\n\r\n\t x\r\n\r\n\r\n";

const BodyHashSpec kRelaxed{BodyCanon::Relaxed, HashAlg::Sha256, -1};
const BodyHashSpec kSimple{BodyCanon::Simple, HashAlg::Sha256, -1};
const BodyHashSpec kLength{BodyCanon::Simple, HashAlg::Sha256, 7};
const BodyHashSpec kArc{BodyCanon::Relaxed, HashAlg::Sha1, -1};

std::string sha256(std::string_view s) {
  return dkim::digest(dkim::Digest::Sha256, s);
}

}  // namespace

TEST(InboundMessage, HashesEveryDistinctSpecAtEverySplit) {
  const std::string msg = kHeader + kBody;
  for (std::size_t i = 0; i <= msg.size(); ++i) {
    InboundMessage m;
    m.feed(std::string_view(msg).substr(0, i));
    EXPECT_EQ(m.body_hash(kRelaxed), nullptr);  // not before finish()
    m.feed(std::string_view(msg).substr(i));
    m.finish();
    EXPECT_EQ(m.header(), kHeader) << i;
    EXPECT_EQ(m.size(), msg.size());
    auto* r = m.body_hash(kRelaxed);
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(r->digest, sha256(dkim::relaxed_body(kBody))) << i;
    EXPECT_EQ(r->canonical_length, dkim::relaxed_body(kBody).size());
    auto* s = m.body_hash(kSimple);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->digest, sha256(dkim::simple_body(kBody))) << i;
    auto* l = m.body_hash(kLength);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->digest, sha256(dkim::simple_body(kBody).substr(0, 7))) << i;
    EXPECT_FALSE(l->short_body);
    auto* a = m.body_hash(kArc);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->digest, dkim::digest(dkim::Digest::Sha1, dkim::relaxed_body(kBody)));
    EXPECT_EQ(m.body_hash({BodyCanon::Simple, HashAlg::Sha1, -1}), nullptr);
  }
}

TEST(InboundMessage, OneOctetAtATime) {
  const std::string msg = kHeader + kBody;
  InboundMessage m;
  for (char c : msg) m.feed(std::string_view(&c, 1));
  m.finish();
  EXPECT_EQ(m.header(), kHeader);
  ASSERT_NE(m.body_hash(kRelaxed), nullptr);
  EXPECT_EQ(m.body_hash(kRelaxed)->digest, sha256(dkim::relaxed_body(kBody)));
}

TEST(InboundMessage, LengthLongerThanTheBodyIsShort) {
  std::string header =
      "DKIM-Signature: v=1; a=rsa-sha256; l=1000; d=a.test; s=s; h=from; bh=YWJj; b=YWJj\r\n\r\n";
  InboundMessage m;
  m.feed(header + "short\r\n");
  m.finish();
  auto* h = m.body_hash({BodyCanon::Simple, HashAlg::Sha256, 1000});
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(h->short_body);
  EXPECT_EQ(h->canonical_length, 7u);
}

TEST(InboundMessage, MessageWithoutBodyOrEmptyLine) {
  InboundMessage m;
  m.feed("DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=YWJj; b=YWJj\r\nFrom: a@a.test\r\n");
  m.finish();
  auto* h = m.body_hash(kSimple);
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->digest, sha256("\r\n"));  // an empty body is one CRLF in simple
}

TEST(InboundMessage, HeaderOverTheLimitIsTruncated) {
  InboundMessage m(64);
  std::string msg =
      "DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=YWJj; b=YWJj\r\nFrom: a\r\n\r\nbody\r\n";
  m.feed(msg);
  m.finish();
  EXPECT_TRUE(m.header_truncated());
  EXPECT_EQ(m.body_hash(kSimple), nullptr);
  EXPECT_EQ(m.size(), msg.size());
}

TEST(InboundMessage, BareLfHeaderEnd) {
  InboundMessage m;
  m.feed("DKIM-Signature: v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=YWJj; b=YWJj\nFrom: a\n\nbody\n");
  m.finish();
  ASSERT_NE(m.body_hash(kSimple), nullptr);
  EXPECT_EQ(m.body_hash(kSimple)->digest, sha256("body\r\n"));
}
