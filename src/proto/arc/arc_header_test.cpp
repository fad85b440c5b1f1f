#include "proto/arc/arc_header.h"

#include <gtest/gtest.h>

namespace mailfort::proto::arc {
namespace {

const char* kSeal =
    " a=rsa-sha256;\r\n    b=dOdFEyhrk/tw5w==; cv=none; d=example.org; i=1; s=dummy;\r\n    t=12345";
const char* kAms =
    " a=rsa-sha256;\r\n    b=QsRz; bh=KWSe46TZKCcDbH4klJPo+tjk5LWJnVRlP5pvjXFZYLQ=; c=relaxed/simple;\r\n"
    "    d=example.org; h=From : to::Date;\r\n    i=2; s=dummy; t=12345";

TEST(ArcSeal, Parses) {
  auto s = parse_arc_seal(kSeal);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->instance, 1);
  EXPECT_EQ(s->cv, ChainValidation::None);
  EXPECT_EQ(s->domain, "example.org");
  EXPECT_EQ(s->selector, "dummy");
  EXPECT_EQ(*s->timestamp, 12345);
  EXPECT_EQ(s->signature.size(), 10u);
}

TEST(ArcSeal, Invalid) {
  std::string base = "a=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=3; s=sel";
  EXPECT_TRUE(parse_arc_seal(base));
  EXPECT_TRUE(parse_arc_seal(base + ";"));
  EXPECT_TRUE(parse_arc_seal(base + "; x=unknown"));
  EXPECT_FALSE(parse_arc_seal(base + ";;"));
  EXPECT_FALSE(parse_arc_seal(base + "; h=from"));  // h= forbidden in a seal
  EXPECT_FALSE(parse_arc_seal(base + "; i=3"));     // duplicate tag
  EXPECT_FALSE(parse_arc_seal(base + "; 1x=a"));    // bad tag name
  EXPECT_FALSE(parse_arc_seal(base + "; t="));      // empty t=
  EXPECT_FALSE(parse_arc_seal(base + "; t=1 2"));   // values are whitespace sensitive
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha1; b=AAAA; cv=pass; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=RSA-SHA256; b=AAAA; cv=pass; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("A=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=maybe; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=0; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=51; s=sel"));
  EXPECT_TRUE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=50; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=pass; d=example...; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=; cv=pass; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=A!AA; cv=pass; d=example.org; i=3; s=sel"));
  EXPECT_FALSE(parse_arc_seal("a=rsa-sha256; b=AAAA; cv=pass; d=example.org; i=3; s="));
  EXPECT_FALSE(parse_arc_seal(""));
}

TEST(ArcMessageSignature, Parses) {
  auto m = parse_arc_message_signature(kAms);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->instance, 2);
  EXPECT_EQ(m->header_canon, Canon::Relaxed);
  EXPECT_EQ(m->body_canon, Canon::Simple);
  EXPECT_EQ(m->headers, (std::vector<std::string>{"from", "to", "date"}));
  EXPECT_EQ(m->body_hash.size(), 32u);
}

TEST(ArcMessageSignature, Defaults) {
  auto m = parse_arc_message_signature("a=ed25519-sha256; b=AAAA; bh=AAAA; d=a.example; h=; i=1; s=s");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->algorithm, SigningAlgorithm::Ed25519Sha256);
  EXPECT_EQ(m->header_canon, Canon::Relaxed);  // ARC's default, not DKIM's simple
  EXPECT_EQ(m->body_canon, Canon::Relaxed);
  EXPECT_TRUE(m->headers.empty());
  EXPECT_FALSE(m->timestamp);
}

TEST(ArcMessageSignature, Invalid) {
  EXPECT_FALSE(parse_arc_message_signature("a=rsa-sha256; b=AAAA; bh=AAAA; d=a.example; i=1; s=s"));  // no h=
  EXPECT_FALSE(parse_arc_message_signature("a=rsa-sha256; b=AAAA; d=a.example; h=from; i=1; s=s"));  // no bh=
  EXPECT_FALSE(
      parse_arc_message_signature("a=rsa-sha256; b=AAAA; bh=AAAA; c=; d=a.example; h=from; i=1; s=s"));
  EXPECT_FALSE(parse_arc_message_signature(
      "a=rsa-sha256; b=AAAA; bh=AAAA; c=fancy/simple; d=a.example; h=from; i=1; s=s"));
  EXPECT_FALSE(
      parse_arc_message_signature("a=rsa-sha256; b=AAAA; bh=AAAA; d=a.example; h=from:arc-seal; i=1; s=s"));
}

TEST(ArcAuthenticationResults, Parses) {
  auto a = parse_arc_authentication_results(
      " i=1; lists.example.org;\r\n    spf=pass smtp.mfrom=jqd@d1.example;\r\n    dmarc=pass");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->instance, 1);
  EXPECT_EQ(a->authserv_id, "lists.example.org");
  EXPECT_EQ(a->results, "spf=pass smtp.mfrom=jqd@d1.example; dmarc=pass");
  auto bare = parse_arc_authentication_results("i=7; mx.example; none");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->results, "none");
}

TEST(ArcAuthenticationResults, Invalid) {
  EXPECT_FALSE(parse_arc_authentication_results("lists.example.org; i=1; spf=pass"));
  EXPECT_FALSE(parse_arc_authentication_results("i=1 lists.example.org; spf=pass"));
  EXPECT_FALSE(parse_arc_authentication_results("i=; lists.example.org; spf=pass"));
  EXPECT_FALSE(parse_arc_authentication_results("i=0; lists.example.org; spf=pass"));
  EXPECT_FALSE(parse_arc_authentication_results("i=x; lists.example.org"));
  EXPECT_FALSE(parse_arc_authentication_results("i=1; ; spf=pass"));
  EXPECT_FALSE(parse_arc_authentication_results(""));
}

TEST(InstanceOf, EveryField) {
  EXPECT_EQ(instance_of("ARC-Seal", kSeal), 1);
  EXPECT_EQ(instance_of("arc-message-signature", kAms), 2);
  EXPECT_EQ(instance_of("ARC-Authentication-Results", " i = 4 ; x; y"), 4);
  EXPECT_FALSE(instance_of("ARC-Seal", "a=b; c=d"));
  EXPECT_FALSE(instance_of("ARC-Authentication-Results", "x; i=1"));
}

TEST(WithoutSignature, KeepsEverythingButTheBValue) {
  EXPECT_EQ(without_signature(" a=x; b=abc\r\n def; bh=zz; d=e"), " a=x; b=; bh=zz; d=e");
  EXPECT_EQ(without_signature(" bh=zz; b = abc"), " bh=zz; b =");
  EXPECT_EQ(without_signature("a=1"), "a=1");
}

}  // namespace
}  // namespace mailfort::proto::arc
