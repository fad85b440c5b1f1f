#include <gtest/gtest.h>

#include "proto/smtp/client_reply.h"

using namespace mailfort::proto::smtp;

TEST(ClientReply, MultiLineWithEnhancedCode) {
  ReplyAssembler a;
  EXPECT_EQ(a.feed("250-mx.example.org Hello"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.feed("250-PIPELINING"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.feed("250-SIZE 1000"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(a.feed("250 STARTTLS"), ReplyAssembler::Status::Done);
  auto r = a.take();
  EXPECT_EQ(r.code, 250);
  auto e = parse_ehlo(r);
  EXPECT_TRUE(e.pipelining && e.starttls);
  EXPECT_EQ(*e.size, 1000u);
  EXPECT_FALSE(e.smtputf8);
  EXPECT_EQ(a.feed("550 5.1.1 <x@y>: Recipient address rejected"), ReplyAssembler::Status::Done);
  r = a.take();
  EXPECT_EQ(r.enhanced, "5.1.1");
  EXPECT_TRUE(r.permanent());
  EXPECT_EQ(r.summary(), "550 5.1.1 <x@y>: Recipient address rejected");
}

TEST(ClientReply, Malformed) {
  ReplyAssembler a;
  EXPECT_EQ(a.feed("25"), ReplyAssembler::Status::Error);
  EXPECT_EQ(a.feed("abc def"), ReplyAssembler::Status::Error);
  EXPECT_EQ(a.feed("250x"), ReplyAssembler::Status::Error);
  ReplyAssembler b;
  EXPECT_EQ(b.feed("250-a"), ReplyAssembler::Status::NeedMore);
  EXPECT_EQ(b.feed("251 b"), ReplyAssembler::Status::Error);  // mixed codes
  ReplyAssembler c;
  EXPECT_EQ(c.feed("421"), ReplyAssembler::Status::Done);
  EXPECT_EQ(c.take().code, 421);
  ReplyAssembler d;
  EXPECT_EQ(d.feed("250 2.0.0x ok"), ReplyAssembler::Status::Done);
  EXPECT_EQ(d.take().enhanced, "");  // not an enhanced code
  ReplyAssembler f;
  for (int i = 0; i < 5; ++i) f.feed("250-x", 3);
  EXPECT_EQ(f.feed("250-x", 3), ReplyAssembler::Status::Error);
}
