#include <gtest/gtest.h>

#include "proto/smtp/command.h"
#include "proto/smtp/reply.h"

namespace mailfort::proto::smtp {
namespace {

TEST(Command, VerbsCaseInsensitiveWithArgs) {
  auto c = parse_command("mail FROM:<a@b.example> SIZE=10");
  EXPECT_EQ(c.verb, Verb::Mail);
  EXPECT_EQ(c.verb_text, "MAIL");
  EXPECT_EQ(c.args, "FROM:<a@b.example> SIZE=10");
  EXPECT_EQ(parse_command("EhLo client.example").verb, Verb::Ehlo);
  EXPECT_EQ(parse_command("STARTTLS").verb, Verb::Starttls);
  EXPECT_EQ(parse_command("STARTTLS").args, "");
  EXPECT_EQ(parse_command("QUIT   ").args, "");
  EXPECT_EQ(parse_command("NOOP x  ").args, "x");
}

TEST(Command, UnknownAndHostile) {
  EXPECT_EQ(parse_command("").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("FOO bar").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("FOO bar").verb_text, "FOO");
  EXPECT_EQ(parse_command("MAIL:FROM").verb, Verb::Unknown);
  EXPECT_EQ(parse_command("EHLO1 x").verb, Verb::Unknown);
  EXPECT_EQ(parse_command(std::string("NOOP\0x", 6)).verb, Verb::Unknown);
  EXPECT_EQ(parse_command("NOOP\x01").verb, Verb::Unknown);
  EXPECT_EQ(parse_command(std::string(17, 'A')).verb, Verb::Unknown);
  EXPECT_EQ(parse_command(" QUIT").verb, Verb::Unknown);
}

TEST(Command, HeloDomains) {
  for (const char* good :
       {"mail.example.org", "localhost", "a-b.example", "[192.0.2.1]", "[IPv6:2001:db8::1]", "[IPv6:::1]"}) {
    EXPECT_TRUE(is_valid_helo_domain(good)) << good;
  }
  std::string long_label(64, 'a');
  for (std::string bad : {std::string(""), std::string("-a.com"), std::string("a-.com"), std::string("a..b"),
                          std::string("a.b."), std::string("[999.1.1.1]"), std::string("[IPv6:zz]"),
                          std::string("a b"), std::string("under_score.example"), long_label + ".com"}) {
    EXPECT_FALSE(is_valid_helo_domain(bad)) << bad;
  }
  EXPECT_TRUE(is_fqdn("mail.example.org"));
  EXPECT_FALSE(is_fqdn("localhost"));
  EXPECT_FALSE(is_fqdn("1.2.3.4"));
}

TEST(Command, AuthArgs) {
  auto a = parse_auth_args("plain dGVzdA==");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mechanism, "PLAIN");
  EXPECT_EQ(*a->initial_response, "dGVzdA==");
  EXPECT_FALSE(parse_auth_args("LOGIN")->initial_response);
  EXPECT_EQ(*parse_auth_args("PLAIN =")->initial_response, "=");
  EXPECT_FALSE(parse_auth_args(""));
  EXPECT_FALSE(parse_auth_args("PLAIN a b"));
  EXPECT_FALSE(parse_auth_args("PL*IN"));
  EXPECT_FALSE(parse_auth_args("PLAIN "));
}

TEST(Reply, Formatting) {
  EXPECT_EQ(format_reply(250, "2.0.0", "Ok"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(format_reply(220, "", "mx.example ESMTP"), "220 mx.example ESMTP\r\n");
  EXPECT_EQ(format_reply(250, "", std::vector<std::string>{"mx", "PIPELINING", "8BITMIME"}),
            "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  EXPECT_EQ(format_reply(550, "5.1.1", "bad\r\n250 injected"), "550 5.1.1 bad  250 injected\r\n");
}

}  // namespace
}  // namespace mailfort::proto::smtp
