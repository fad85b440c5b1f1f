#include <gtest/gtest.h>

#include "proto/dkim/signature.h"
#include "proto/dkim/tag_list.h"

using namespace mailfort::proto::dkim;

namespace {

const char* kSig =
    " v=1; a=rsa-sha256; c=relaxed/simple; d=Example.COM; s=sel1;\r\n"
    "\tt=100; x=200; h=From:To : Subject; i=joe@mail.example.com;\r\n"
    "\tbh=YWJj; l=42;\r\n\tb=ZGVm\r\n Z2hp";

std::string error_of(std::string_view sig) {
  std::string e;
  EXPECT_FALSE(parse_signature(sig, &e)) << sig;
  return e;
}

}  // namespace

TEST(DkimTagList, ParsesWithFoldingWhitespace) {
  auto l = parse_tag_list(" a = 1 ;\r\n\tb=two words ; c=;");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->tags.size(), 3u);
  EXPECT_EQ(l->find("a")->value, "1");
  EXPECT_EQ(l->find("b")->value, "two words");
  EXPECT_EQ(l->find("c")->value, "");
  EXPECT_EQ(l->find("d"), nullptr);
  EXPECT_TRUE(parse_tag_list(""));
  EXPECT_TRUE(parse_tag_list("a=1;  \r\n "));
}

TEST(DkimTagList, RejectsBadSyntax) {
  std::string e;
  EXPECT_FALSE(parse_tag_list("a=1; a=2", &e));
  EXPECT_EQ(e, "duplicate tag");
  EXPECT_FALSE(parse_tag_list("a=1;;b=2"));
  EXPECT_FALSE(parse_tag_list("a"));
  EXPECT_FALSE(parse_tag_list("1a=x"));
  EXPECT_FALSE(parse_tag_list("a-b=x"));
  EXPECT_FALSE(parse_tag_list("=x"));
  EXPECT_FALSE(parse_tag_list(std::string("a=x\x01y")));
  std::string many;
  for (int i = 0; i < 65; ++i) many += "t" + std::to_string(i) + "=1;";
  EXPECT_FALSE(parse_tag_list(many));
}

TEST(DkimTagList, ValueSpanCoversTheWholeValue) {
  std::string_view in = "a=1; b= abc ;c=2";
  auto l = parse_tag_list(in);
  ASSERT_TRUE(l);
  auto* b = l->find("b");
  EXPECT_EQ(in.substr(b->value_begin, b->value_end - b->value_begin), " abc ");
  auto* c = l->find("c");
  EXPECT_EQ(in.substr(c->value_begin, c->value_end - c->value_begin), "2");
}

TEST(DkimSignature, ParsesEveryTag) {
  std::string e;
  auto s = parse_signature(kSig, &e);
  ASSERT_TRUE(s) << e;
  EXPECT_EQ(s->algorithm, "rsa-sha256");
  EXPECT_EQ(s->key_type, KeyType::Rsa);
  EXPECT_EQ(s->hash, Hash::Sha256);
  EXPECT_EQ(s->header_canon, Canon::Relaxed);
  EXPECT_EQ(s->body_canon, Canon::Simple);
  EXPECT_EQ(s->domain, "example.com");
  EXPECT_EQ(s->selector, "sel1");
  EXPECT_EQ(s->identity, "joe@mail.example.com");
  EXPECT_EQ(s->headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_EQ(s->bh, "abc");
  EXPECT_EQ(s->b, "defghi");
  EXPECT_EQ(s->b_text, "ZGVmZ2hp");
  EXPECT_EQ(s->length, 42);
  EXPECT_EQ(s->timestamp, 100);
  EXPECT_EQ(s->expiration, 200);
}

TEST(DkimSignature, Defaults) {
  auto s = parse_signature("v=1; a=ed25519-sha256; d=a.test; s=s; h=from; bh=YWJj; b=YWJj");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->key_type, KeyType::Ed25519);
  EXPECT_EQ(s->header_canon, Canon::Simple);
  EXPECT_EQ(s->body_canon, Canon::Simple);
  EXPECT_EQ(s->identity, "@a.test");
  EXPECT_EQ(s->length, -1);
  auto r = parse_signature("v=1; a=rsa-sha1; c=relaxed; d=a.test; s=s; h=from; bh=YWJj; b=YWJj; q=dns/txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->hash, Hash::Sha1);
  EXPECT_EQ(r->header_canon, Canon::Relaxed);
  EXPECT_EQ(r->body_canon, Canon::Simple);
}

TEST(DkimSignature, Rejects) {
  const std::string ok = "a=rsa-sha256; d=a.test; s=s; h=from; bh=YWJj; b=YWJj";
  EXPECT_EQ(error_of(ok), "missing v= tag");
  EXPECT_EQ(error_of("v=2; " + ok), "unsupported version");
  EXPECT_EQ(error_of("v=1; a=rsa-md5; d=a.test; s=s; h=from; bh=YWJj; b=YWJj"), "unsupported algorithm");
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=a.test; s=s; h=to:subject; bh=YWJj; b=YWJj"),
            "h= does not sign From");
  EXPECT_EQ(error_of("v=1; i=x@other.test; " + ok), "i= not within d=");
  EXPECT_EQ(error_of("v=1; i=x@xa.test; " + ok), "i= not within d=");
  EXPECT_TRUE(parse_signature("v=1; i=x@sub.a.test; " + ok));
  EXPECT_TRUE(parse_signature("v=1; i=@A.TEST; " + ok));
  EXPECT_EQ(error_of("v=1; t=200; x=100; " + ok), "x= before t=");
  EXPECT_TRUE(parse_signature("v=1; t=100; x=100; " + ok));
  EXPECT_EQ(error_of("v=1; l=-1; " + ok), "bad l= length");
  EXPECT_EQ(error_of("v=1; c=fancy; " + ok), "unknown canonicalization");
  EXPECT_EQ(error_of("v=1; q=http; " + ok), "no supported q= query method");
  EXPECT_EQ(error_of("v=1; a=rsa-sha256; d=a.test; s=s; h=from; bh=YWJj; b=!!"), "bad b= base64");
  EXPECT_EQ(error_of("v=1; v=1; " + ok), "duplicate tag");
  EXPECT_TRUE(parse_signature("v=1; z=From:a@b|To:c@d; " + ok));
}

TEST(DkimKeyRecord, Parses) {
  auto k =
      parse_key_record("v=DKIM1; k=ed25519; h=sha256:foo; t=y:s:z; s=email; n=notes; x9=unknown; p=YWJj");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->type, KeyType::Ed25519);
  EXPECT_TRUE(k->hash_restricted);
  EXPECT_EQ(k->hashes, std::vector<Hash>{Hash::Sha256});
  EXPECT_EQ(k->public_key, "abc");
  EXPECT_TRUE(k->testing);
  EXPECT_TRUE(k->strict_identity);
  EXPECT_TRUE(k->email_service);
  auto d = parse_key_record("p=YW Jj");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->type, KeyType::Rsa);
  EXPECT_FALSE(d->hash_restricted);
  EXPECT_EQ(d->public_key, "abc");
  auto revoked = parse_key_record("v=DKIM1; p=");
  ASSERT_TRUE(revoked);
  EXPECT_TRUE(revoked->public_key.empty());
  auto other = parse_key_record("s=other; p=YWJj");
  ASSERT_TRUE(other);
  EXPECT_FALSE(other->email_service);
}

TEST(DkimKeyRecord, Rejects) {
  std::string e;
  EXPECT_FALSE(parse_key_record("k=rsa; v=DKIM1; p=YWJj", &e));
  EXPECT_EQ(e, "v= not first in key record");
  EXPECT_FALSE(parse_key_record("v=DKIM2; p=YWJj"));
  EXPECT_FALSE(parse_key_record("k=dsa; p=YWJj", &e));
  EXPECT_EQ(e, "unknown key type");
  EXPECT_FALSE(parse_key_record("v=DKIM1; k=rsa", &e));
  EXPECT_EQ(e, "key record without p=");
  EXPECT_FALSE(parse_key_record("p=YWJj; p=YWJj"));
}

TEST(DkimDecimal, Bounds) {
  EXPECT_EQ(parse_decimal("0", 12), 0);
  EXPECT_EQ(parse_decimal("123", 12), 123);
  EXPECT_FALSE(parse_decimal("", 12));
  EXPECT_FALSE(parse_decimal("1a", 12));
  EXPECT_FALSE(parse_decimal("1234567890123", 12));
  EXPECT_EQ(parse_decimal(std::string(70, '9'), 76), INT64_MAX);
}
