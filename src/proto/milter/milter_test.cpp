#include "proto/milter/milter.h"

#include <gtest/gtest.h>

namespace mailfort::proto::milter {
namespace {

using namespace std::string_literals;

// The expected bytes below are written out from the protocol description
// (4-byte big-endian length counting the command byte, command, data).

TEST(MilterEncode, OptNeg) {
  EXPECT_EQ(encode_optneg(6, 0x31, 0x1fffff),
            "\x00\x00\x00\x0d"
            "O"
            "\x00\x00\x00\x06"
            "\x00\x00\x00\x31"
            "\x00\x1f\xff\xff"s);
}

TEST(MilterEncode, ConnectInet) {
  EXPECT_EQ(encode_connect("mx.example", '4', 25, "192.0.2.1"),
            "\x00\x00\x00\x19"
            "C"
            "mx.example\x00"
            "4"
            "\x00\x19"
            "192.0.2.1\x00"s);
  EXPECT_EQ(encode_connect("h", '6', 0x1234, "::1"),
            "\x00\x00\x00\x0a"
            "Ch\x00"
            "6\x12\x34::1\x00"s);
}

TEST(MilterEncode, ConnectUnknownHasNoPortOrAddress) {
  EXPECT_EQ(encode_connect("unknown", 'U', 25, "ignored"),
            "\x00\x00\x00\x0a"
            "Cunknown\x00U"s);
}

TEST(MilterEncode, HeloMailRcpt) {
  EXPECT_EQ(encode_helo("client.example"),
            "\x00\x00\x00\x10"
            "Hclient.example\x00"s);
  EXPECT_EQ(encode_mail("a@b.example", {"SIZE=10", "BODY=8BITMIME"}),
            "\x00\x00\x00\x25"
            "M<a@b.example>\x00SIZE=10\x00"
            "BODY=8BITMIME\x00"s);
  EXPECT_EQ(encode_mail(""),
            "\x00\x00\x00\x04"
            "M<>\x00"s);
  EXPECT_EQ(encode_rcpt("x@y"),
            "\x00\x00\x00\x07"
            "R<x@y>\x00"s);
}

TEST(MilterEncode, Macros) {
  EXPECT_EQ(encode_macros(Command::Mail, {{"i", "ABC"}, {"{mail_addr}", "a@b"}}),
            "\x00\x00\x00\x18"
            "DMi\x00"
            "ABC\x00{mail_addr}\x00"
            "a@b\x00"s);
  EXPECT_EQ(encode_macros(Command::Connect, {}),
            "\x00\x00\x00\x02"
            "DC"s);
}

TEST(MilterEncode, HeaderAndBody) {
  EXPECT_EQ(encode_header("Subject", "hi"),
            "\x00\x00\x00\x0c"
            "LSubject\x00hi\x00"s);
  EXPECT_EQ(encode_body("line\r\n"),
            "\x00\x00\x00\x07"
            "Bline\r\n"s);
  std::string big(70000, 'x');
  std::string enc = encode_body(big);
  EXPECT_EQ(enc.size(), 5 + kMaxBodyChunk);  // cut at MILTER_CHUNK_SIZE
  EXPECT_EQ(enc.substr(0, 5),
            "\x00\x01\x00\x00"
            "B"s);
}

TEST(MilterEncode, BareCommands) {
  EXPECT_EQ(encode_data(), "\x00\x00\x00\x01T"s);
  EXPECT_EQ(encode_eoh(), "\x00\x00\x00\x01N"s);
  EXPECT_EQ(encode_eob(),
            "\x00\x00\x00\x01"
            "E"s);
  EXPECT_EQ(encode_abort(),
            "\x00\x00\x00\x01"
            "A"s);
  EXPECT_EQ(encode_quit(), "\x00\x00\x00\x01Q"s);
}

std::string packet(char code, const std::string& data) {
  uint32_t len = static_cast<uint32_t>(data.size() + 1);
  std::string out{static_cast<char>(len >> 24), static_cast<char>(len >> 16), static_cast<char>(len >> 8),
                  static_cast<char>(len)};
  out.push_back(code);
  return out + data;
}

TEST(MilterDecode, WholeAndByteByByte) {
  std::string stream = packet('c', "") + packet('h', "X-A\0b\0"s) + packet('y', "550 5.7.1 no\0"s);
  for (bool bytewise : {false, true}) {
    ReplyDecoder d;
    std::vector<Reply> got;
    if (bytewise) {
      for (char c : stream) {
        ASSERT_TRUE(d.feed(std::string_view(&c, 1)));
        while (auto r = d.next()) got.push_back(*r);
      }
    } else {
      ASSERT_TRUE(d.feed(stream));
      while (auto r = d.next()) got.push_back(*r);
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].code, ReplyCode::Continue);
    EXPECT_EQ(got[0].data, "");
    EXPECT_EQ(got[1].code, ReplyCode::AddHeader);
    EXPECT_EQ(got[1].data, "X-A\0b\0"s);
    EXPECT_EQ(got[2].code, ReplyCode::ReplyCode);
    EXPECT_FALSE(d.next());
    EXPECT_FALSE(d.failed());
  }
}

TEST(MilterDecode, IncompletePacketWaits) {
  ReplyDecoder d;
  std::string p = packet('a', "");
  ASSERT_TRUE(d.feed(p.substr(0, 3)));
  EXPECT_FALSE(d.next());
  ASSERT_TRUE(d.feed(p.substr(3)));
  auto r = d.next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, ReplyCode::Accept);
}

TEST(MilterDecode, ZeroLengthFails) {
  ReplyDecoder d;
  EXPECT_FALSE(d.feed("\x00\x00\x00\x00"s));
  EXPECT_TRUE(d.failed());
  EXPECT_FALSE(d.feed(packet('c', "")));  // the error stays
  EXPECT_FALSE(d.next());
}

TEST(MilterDecode, OversizeFailsOnTheLengthAlone) {
  ReplyDecoder d(100);
  ASSERT_TRUE(d.feed(packet('b', std::string(99, 'x'))));  // exactly max_packet
  ASSERT_TRUE(d.next());
  // Only the 4-byte length of a too-large packet: refused before any data.
  EXPECT_FALSE(d.feed("\x00\x00\x00\x65"s));
  EXPECT_TRUE(d.failed());
  EXPECT_FALSE(d.next());
}

TEST(MilterDecode, HugeLengthDoesNotAllocate) {
  ReplyDecoder d;
  EXPECT_FALSE(
      d.feed("\xff\xff\xff\xff"
             "a"s));
}

TEST(MilterDecode, ManyPacketsInOneFeed) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += packet('p', "");
  ReplyDecoder d;
  ASSERT_TRUE(d.feed(stream));
  int n = 0;
  while (d.next()) ++n;
  EXPECT_EQ(n, 1000);
}

TEST(MilterParse, OptNeg) {
  auto o = parse_optneg("\x00\x00\x00\x06\x00\x00\x01\xff\x00\x10\x00\x01"s);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->version, 6u);
  EXPECT_EQ(o->actions, 0x1ffu);
  EXPECT_EQ(o->protocol, 0x100001u);
  // Version 6 symbol lists after the three words are ignored.
  EXPECT_TRUE(parse_optneg("\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02i\x00"s));
  EXPECT_FALSE(parse_optneg("\x00\x00\x00\x06\x00\x00"s));
  EXPECT_FALSE(parse_optneg(""));
}

TEST(MilterParse, ReplyCode) {
  auto t = parse_replycode("554 5.7.1 Spam message rejected\0"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->code, 554);
  EXPECT_EQ(t->enhanced, "5.7.1");
  EXPECT_EQ(t->text, "Spam message rejected");

  t = parse_replycode("451 Try again later\0"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->code, 451);
  EXPECT_EQ(t->enhanced, "");
  EXPECT_EQ(t->text, "Try again later");

  t = parse_replycode("550 5.7.1\0"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->enhanced, "5.7.1");
  EXPECT_EQ(t->text, "");

  t = parse_replycode("550");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->code, 550);

  // smfi_setmlreply: several lines, "-" on all but the last.
  t = parse_replycode("550-5.7.1 first\r\n550 5.7.1 second\0"s);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->code, 550);
  EXPECT_EQ(t->enhanced, "5.7.1");
  EXPECT_EQ(t->text, "first\r\nsecond");

  // A number that looks like a version is text, not an enhanced code.
  t = parse_replycode("550 5.7.1a text");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->enhanced, "");
  EXPECT_EQ(t->text, "5.7.1a text");

  EXPECT_FALSE(parse_replycode(""));
  EXPECT_FALSE(parse_replycode("55"));
  EXPECT_FALSE(parse_replycode("5x0 text"));
  EXPECT_FALSE(parse_replycode("550text"));
  EXPECT_FALSE(parse_replycode("550-a\r\n451 b"));  // codes differ between lines
}

TEST(MilterParse, HeaderChanges) {
  auto c = parse_header_change(ReplyCode::AddHeader, "X-Spam\0Yes\0"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, HeaderChange::Kind::Add);
  EXPECT_EQ(c->name, "X-Spam");
  EXPECT_EQ(c->value, "Yes");

  c = parse_header_change(ReplyCode::InsHeader, "\x00\x00\x00\x02X-A\0v\0"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, HeaderChange::Kind::Insert);
  EXPECT_EQ(c->index, 2u);
  EXPECT_EQ(c->name, "X-A");

  c = parse_header_change(ReplyCode::ChgHeader, "\x00\x00\x00\x01Subject\0\0"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->kind, HeaderChange::Kind::Change);
  EXPECT_EQ(c->index, 1u);
  EXPECT_EQ(c->value, "");  // delete

  c = parse_header_change(ReplyCode::AddHeader, "X-A\0no terminator"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->value, "no terminator");

  c = parse_header_change(ReplyCode::AddHeader, "X-A\0line1\n\tline2\0"s);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->value, "line1\n\tline2");

  EXPECT_FALSE(parse_header_change(ReplyCode::AddHeader, "X-A"));            // no NUL after the name
  EXPECT_FALSE(parse_header_change(ReplyCode::AddHeader, "\0v\0"s));         // empty name
  EXPECT_FALSE(parse_header_change(ReplyCode::AddHeader, "X A\0v\0"s));      // space in the name
  EXPECT_FALSE(parse_header_change(ReplyCode::AddHeader, "X:A\0v\0"s));      // colon in the name
  EXPECT_FALSE(parse_header_change(ReplyCode::AddHeader, "X\r\nB\0v\0"s));   // CRLF in the name
  EXPECT_FALSE(parse_header_change(ReplyCode::ChgHeader, "\x00\x00\x01"s));  // short index
  EXPECT_FALSE(parse_header_change(ReplyCode::Continue, "X-A\0v\0"s));       // not a header change
}

TEST(MilterParse, SplitNulStrings) {
  EXPECT_EQ(split_nul_strings("a\0bc\0"s), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(split_nul_strings("a\0tail"s), (std::vector<std::string>{"a", "tail"}));
  EXPECT_EQ(split_nul_strings("\0"s), (std::vector<std::string>{""}));
  EXPECT_TRUE(split_nul_strings("").empty());
}

}  // namespace
}  // namespace mailfort::proto::milter
