#include "proto/imap/imap_url.h"

#include <gtest/gtest.h>

namespace mailfort::proto::imap {
namespace {

TEST(ImapUrl, AbsoluteWithEverything) {
  std::string url =
      "imap://u1;AUTH=*@Mail.Example.org:143/INBOX%2Fsub;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2.MIME"
      "/;PARTIAL=10.20;EXPIRE=2030-01-02T03:04:05Z;URLAUTH=user+fred:internal:91354a473744909de610943775f92038";
  auto u = parse_imap_url(url);
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->absolute);
  EXPECT_EQ(u->user, "u1");
  EXPECT_EQ(u->host, "mail.example.org");
  EXPECT_EQ(u->port, 143u);
  EXPECT_EQ(u->mailbox, "INBOX/sub");
  EXPECT_EQ(u->uidvalidity, 385759045u);
  EXPECT_EQ(u->uid, 20u);
  EXPECT_EQ(u->section, "1.2.MIME");
  EXPECT_EQ(u->partial_offset, 10u);
  EXPECT_EQ(u->partial_length, 20u);
  EXPECT_EQ(u->expire, 1893553445);
  EXPECT_EQ(u->access, "user+fred");
  EXPECT_EQ(u->mechanism, "INTERNAL");
  EXPECT_EQ(u->token, "91354a473744909de610943775f92038");
  EXPECT_EQ(u->rump, url.substr(0, url.find(":internal:")));
}

TEST(ImapUrl, RelativeForms) {
  auto u = parse_imap_url("/Drafts/;uid=3/;section=header");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->absolute);
  EXPECT_TRUE(u->has_mailbox);
  EXPECT_EQ(u->mailbox, "Drafts");
  EXPECT_EQ(u->uid, 3u);
  EXPECT_EQ(u->section, "header");
  EXPECT_EQ(u->rump_size, 0u);
  u = parse_imap_url("/a/b;UIDVALIDITY=7/;UID=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->mailbox, "a/b");
  EXPECT_EQ(u->uidvalidity, 7u);
  u = parse_imap_url(";UID=9/;PARTIAL=100000.1");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->has_mailbox);
  EXPECT_EQ(u->uid, 9u);
  EXPECT_EQ(u->partial_offset, 100000u);
  EXPECT_EQ(u->partial_length, 1u);
  // A rump (GENURLAUTH's input) without a verifier.
  u = parse_imap_url("imap://u1@example.test/INBOX/;uid=1;urlauth=authuser");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->rump_size, std::string("imap://u1@example.test/INBOX/;uid=1;urlauth=authuser").size());
  EXPECT_EQ(u->mechanism, "");
  EXPECT_EQ(u->user, "u1");
  EXPECT_EQ(u->host, "example.test");
}

TEST(ImapUrl, Invalid) {
  for (const char* bad : {
           "",
           "http://x/INBOX/;UID=1",
           "imap://x/INBOX",                       // a mailbox, not a message
           "imap://x/INBOX/;UID=0",                // UIDs are nz-number
           "imap://x/INBOX;UID=1",                 // "/;UID="
           "/INBOX/;UID=1;SECTION=1",              // "/;SECTION="
           "/INBOX/;UID=1/;SECTION=1/;SECTION=2",  // twice
           "/INBOX/;UIDVALIDITY=1/;UID=1",         // UIDVALIDITY right after the mailbox
           "/INBOX/;UID=99999999999",
           "/IN%2/;UID=1",
           "/IN%00/;UID=1",
           "/IN BOX/;UID=1",
           "/INBOX/;UID=1;URLAUTH=nobody",
           "/INBOX/;UID=1;URLAUTH=user+",
           "/INBOX/;UID=1;URLAUTH=authuser:internal:1234",  // token too short
           "/INBOX/;UID=1;URLAUTH=authuser:internal:zz354a473744909de610943775f92038",
           "/INBOX/;UID=1;EXPIRE=yesterday;URLAUTH=authuser",
           "/INBOX/;UID=1/;PARTIAL=x",
           "/INBOX/;UID=1/;FOO=1",
           "imap://@host/INBOX/;UID=1",
           "imap://u@ho st/INBOX/;UID=1",
           "imap://u@host:99999/INBOX/;UID=1",
           ";UID=1/;UID=2",
           "/;UID=1",
       }) {
    EXPECT_FALSE(parse_imap_url(bad)) << bad;
  }
  EXPECT_FALSE(parse_imap_url("/INBOX/;UID=1/;SECTION=" + std::string(kMaxUrl, '1')));
}

TEST(ImapUrl, Sections) {
  auto s = url_section("1.2.MIME");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->part, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(s->kind, Section::Kind::Mime);
  s = url_section("header.fields (subject from)");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, Section::Kind::HeaderFields);
  EXPECT_EQ(s->fields, (std::vector<std::string>{"SUBJECT", "FROM"}));
  EXPECT_TRUE(url_section("text"));
  EXPECT_FALSE(url_section("1]<0.1>"));
  EXPECT_FALSE(url_section("bogus"));
  EXPECT_FALSE(url_section(""));
}

TEST(ImapUrl, Rfc3339) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00.123-00:30"), 1800);
  EXPECT_FALSE(parse_rfc3339("1970-13-01T00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1970-01-01 00:00:00Z"));
  EXPECT_FALSE(parse_rfc3339("1970-01-01T00:00:00"));
}

TEST(ImapUrl, UrlauthCommandsParse) {
  auto p = parse_command("a GENURLAUTH \"imap://u@h/INBOX/;uid=1;urlauth=anonymous\" INTERNAL");
  ASSERT_TRUE(p.command) << p.error.message;
  EXPECT_EQ(p.command->kind, CommandKind::GenUrlAuth);
  EXPECT_EQ(p.command->args, (std::vector<std::string>{"imap://u@h/INBOX/;uid=1;urlauth=anonymous", "INTERNAL"}));
  p = parse_command("a RESETKEY");
  ASSERT_TRUE(p.command);
  EXPECT_TRUE(p.command->args.empty());
  p = parse_command("a RESETKEY INBOX INTERNAL");
  ASSERT_TRUE(p.command);
  EXPECT_EQ(p.command->args.size(), 2u);
  p = parse_command("a URLFETCH \"imap://x/y/;uid=1\" (\"imap://x/y/;uid=2\" BINARY BODYPARTSTRUCTURE)");
  ASSERT_TRUE(p.command) << p.error.message;
  ASSERT_EQ(p.command->url_fetch.size(), 2u);
  EXPECT_FALSE(p.command->url_fetch[0].extended);
  EXPECT_TRUE(p.command->url_fetch[1].binary);
  EXPECT_TRUE(p.command->url_fetch[1].bodypartstructure);
  EXPECT_FALSE(p.command->url_fetch[1].body);
  EXPECT_FALSE(parse_command("a URLFETCH").command);
  EXPECT_FALSE(parse_command("a URLFETCH (x FOO)").command);
  EXPECT_FALSE(parse_command("a GENURLAUTH x").command);
}

TEST(ImapUrl, AppendGrammar) {
  auto p = parse_command(
      "a APPEND INBOX (\\Seen) \"01-Jan-2020 00:00:00 +0000\" {1}\r\nx {1+}\r\ny CATENATE (URL \"/INBOX/;uid=1\" "
      "TEXT {2}\r\nzz)");
  ASSERT_TRUE(p.command) << p.error.message;
  auto& a = p.command->appends;
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].literal, "x");
  EXPECT_TRUE(a[0].date);
  EXPECT_EQ(a[1].literal, "y");
  EXPECT_TRUE(a[2].catenate);
  ASSERT_EQ(a[2].parts.size(), 2u);
  EXPECT_TRUE(a[2].parts[0].url);
  EXPECT_EQ(a[2].parts[1].data, "zz");
  EXPECT_FALSE(parse_command("a APPEND INBOX").command);
  EXPECT_FALSE(parse_command("a APPEND INBOX CATENATE ()").command);
  EXPECT_FALSE(parse_command("a APPEND INBOX CATENATE (FOO {1}\r\nx)").command);
  EXPECT_FALSE(parse_command("a APPEND INBOX {1}\r\nx ").command);
  // A cut-out marker where the grammar has no message: the session answers BAD.
  p = parse_command("a APPEND INBOX {*}\r\n");
  ASSERT_TRUE(p.command);
  std::vector<std::string> none;
  EXPECT_FALSE(attach_cut_literals(*p.command, none));
  std::vector<std::string> two{"a", "b"};
  EXPECT_FALSE(attach_cut_literals(*p.command, two));
  EXPECT_FALSE(parse_command("a APPEND {*}\r\n {1}\r\nx").command);
}

}  // namespace
}  // namespace mailfort::proto::imap
