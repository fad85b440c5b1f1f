#include <gtest/gtest.h>

#include "proto/smtp/data_reader.h"
#include "proto/smtp/path.h"

namespace mailfort::proto::smtp {
namespace {

TEST(Path, SimpleMailFromWithParams) {
  auto r = parse_path_args("FROM:<Alice@Example.ORG> SIZE=1000 BODY=8BITMIME", "FROM");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_EQ(r.args.mailbox.local, "Alice");
  EXPECT_EQ(r.args.mailbox.domain, "example.org");
  ASSERT_EQ(r.args.params.size(), 2u);
  EXPECT_EQ(r.args.params[0].keyword, "SIZE");
  EXPECT_EQ(r.args.params[0].value, "1000");
  EXPECT_EQ(r.args.params[1].keyword, "BODY");
}

TEST(Path, KeywordCaseAndSpaceAfterColon) {
  auto r = parse_path_args("to: <bob@example.org>", "TO");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_EQ(r.args.mailbox.str(), "bob@example.org");
}

TEST(Path, NullReversePath) {
  auto r = parse_path_args("FROM:<>", "FROM");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_TRUE(r.args.null_path);
}

TEST(Path, PostmasterWithoutDomain) {
  auto r = parse_path_args("TO:<Postmaster>", "TO");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_TRUE(r.args.postmaster_only);
  EXPECT_EQ(parse_path_args("TO:<bob>", "TO").error, PathError::BadAddress);
}

TEST(Path, SourceRouteIsIgnored) {
  auto r = parse_path_args("TO:<@relay.example,@other.example:user@local.example>", "TO");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_EQ(r.args.mailbox.str(), "user@local.example");
}

TEST(Path, QuotedLocalPart) {
  auto r = parse_path_args(R"(TO:<"john \"q\" doe"@example.org>)", "TO");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_TRUE(r.args.mailbox.quoted);
  EXPECT_EQ(r.args.mailbox.local, "john \"q\" doe");
  EXPECT_EQ(r.args.mailbox.str(), R"("john \"q\" doe"@example.org)");
  // A quoted '@' stays inside the local part: never a second routing hop.
  auto q = parse_path_args(R"(TO:<"user@remote.example"@local.example>)", "TO");
  ASSERT_EQ(q.error, PathError::None);
  EXPECT_EQ(q.args.mailbox.local, "user@remote.example");
  EXPECT_EQ(q.args.mailbox.domain, "local.example");
}

TEST(Path, RelayTricksAreNotRouting) {
  auto pct = parse_path_args("TO:<user%remote.example@local.example>", "TO");
  ASSERT_EQ(pct.error, PathError::None);
  EXPECT_EQ(pct.args.mailbox.domain, "local.example");
  auto bang = parse_path_args("TO:<remote.example!user@local.example>", "TO");
  ASSERT_EQ(bang.error, PathError::None);
  EXPECT_EQ(bang.args.mailbox.domain, "local.example");
  EXPECT_EQ(parse_path_args("TO:<user@remote.example@local.example>", "TO").error, PathError::BadAddress);
}

TEST(Path, IpLiterals) {
  auto v4 = parse_path_args("TO:<user@[192.0.2.1]>", "TO");
  ASSERT_EQ(v4.error, PathError::None);
  EXPECT_TRUE(v4.args.mailbox.ip_literal);
  EXPECT_EQ(v4.args.mailbox.domain, "[192.0.2.1]");
  auto v6 = parse_path_args("TO:<user@[IPv6:2001:db8::1]>", "TO");
  ASSERT_EQ(v6.error, PathError::None);
  EXPECT_EQ(parse_path_args("TO:<user@[999.0.2.1]>", "TO").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("TO:<user@[IPv6:zz::1]>", "TO").error, PathError::BadAddress);
}

TEST(Path, Utf8NeedsSmtputf8Flag) {
  auto r = parse_path_args(
      "TO:<j\xC3\xBCrgen@b\xC3\xBC"
      "cher.example>",
      "TO");
  ASSERT_EQ(r.error, PathError::None);
  EXPECT_TRUE(r.args.mailbox.non_ascii);
  EXPECT_FALSE(parse_path_args("TO:<a@b.example>", "TO").args.mailbox.non_ascii);
}

TEST(Path, SyntaxErrors) {
  EXPECT_EQ(parse_path_args("FROM:a@b.example", "FROM").error, PathError::Syntax);
  EXPECT_EQ(parse_path_args("FROM<a@b.example>", "FROM").error, PathError::Syntax);
  EXPECT_EQ(parse_path_args("TO:<a@b.example>", "FROM").error, PathError::Syntax);
  EXPECT_EQ(parse_path_args("FROM:<a@b.example>x", "FROM").error, PathError::Syntax);
  EXPECT_EQ(parse_path_args("FROM:<a@b.example", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<.a@b.example>", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<a..b@b.example>", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<a@-b.example>", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<a@b..example>", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<a b@b.example>", "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args(std::string("FROM:<a\0b@b.example>", 20), "FROM").error, PathError::BadAddress);
  EXPECT_EQ(parse_path_args("FROM:<a@b.example> SIZE=", "FROM").error, PathError::BadParams);
  EXPECT_EQ(parse_path_args("FROM:<a@b.example> =1", "FROM").error, PathError::BadParams);
}

TEST(Path, LengthLimits) {
  std::string local(65, 'a');
  EXPECT_EQ(parse_path_args("TO:<" + local + "@b.example>", "TO").error, PathError::TooLong);
  std::string label(64, 'a');
  EXPECT_EQ(parse_path_args("TO:<a@" + label + ".example>", "TO").error, PathError::BadAddress);
}

TEST(Mailbox, ParseStandalone) {
  auto m = parse_mailbox("User@Example.org");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->str(), "User@example.org");
  EXPECT_FALSE(parse_mailbox("user"));
  EXPECT_FALSE(parse_mailbox("a@b@c.example"));
}

// ---- DataReader ----

struct DataOutcome {
  std::string content;
  DataReader::Error error;
  std::size_t consumed;
  bool done;
};

DataOutcome read_data(std::string_view in, bool bytewise, uint64_t max_size = 1 << 20,
                      std::size_t max_line = 1000) {
  DataReader r(max_size, max_line);
  DataOutcome o{};
  if (bytewise) {
    for (std::size_t i = 0; i < in.size() && !r.done(); ++i) o.consumed += r.feed(in.substr(i, 1), o.content);
  } else {
    o.consumed = r.feed(in, o.content);
  }
  o.error = r.error();
  o.done = r.done();
  return o;
}

class DataReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(DataReaderTest, EndsAtCrlfDotCrlfAndLeavesPipelinedBytes) {
  auto o = read_data("Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n", GetParam());
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, DataReader::Error::None);
  EXPECT_EQ(o.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_EQ(o.consumed, std::string("Subject: x\r\n\r\nbody\r\n.\r\n").size());
}

TEST_P(DataReaderTest, EmptyMessage) {
  auto o = read_data(".\r\n", GetParam());
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.content, "");
}

TEST_P(DataReaderTest, DotUnstuffing) {
  auto o = read_data("..leading\r\n...\r\n.x\r\n\r\n.\r\n", GetParam());
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, DataReader::Error::None);
  EXPECT_EQ(o.content, ".leading\r\n..\r\nx\r\n\r\n");
}

TEST_P(DataReaderTest, SmugglingVariantsDoNotEndData) {
  for (std::string_view fake : {"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r"}) {
    std::string in = "hello" + std::string(fake) + "MAIL FROM:<evil@x.example>\r\n";
    auto partial = read_data(in, GetParam());
    EXPECT_FALSE(partial.done) << "fake end " << testing::PrintToString(std::string(fake));
    auto o = read_data(in + ".\r\n", GetParam());
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.error, DataReader::Error::BareNewline) << testing::PrintToString(std::string(fake));
  }
}

TEST_P(DataReaderTest, BareCrInText) {
  auto o = read_data("a\rb\r\n.\r\n", GetParam());
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, DataReader::Error::BareNewline);
}

TEST_P(DataReaderTest, SizeLimitDrainsToEnd) {
  std::string body;
  for (int i = 0; i < 100; ++i) body += std::string(50, 'x') + "\r\n";
  auto o = read_data(body + ".\r\nNOOP\r\n", GetParam(), 1000);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, DataReader::Error::TooBig);
  EXPECT_LE(o.content.size(), 1000u);
  EXPECT_EQ(o.consumed, body.size() + 3);
}

TEST_P(DataReaderTest, LineLimit) {
  auto o = read_data(std::string(30, 'y') + "\r\n.\r\n", GetParam(), 1 << 20, 20);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.error, DataReader::Error::LineTooLong);
}

INSTANTIATE_TEST_SUITE_P(Feeding, DataReaderTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "bytewise" : "whole"; });

}  // namespace
}  // namespace mailfort::proto::smtp

TEST(DotStuff, StuffsLeadingDotsAndTerminates) {
  using mailfort::proto::smtp::dot_stuff;
  EXPECT_EQ(dot_stuff("a\r\n.b\r\n..c\r\n"), "a\r\n..b\r\n...c\r\n.\r\n");
  EXPECT_EQ(dot_stuff(".\r\nx"), "..\r\nx\r\n.\r\n");  // lone dot line, missing final CRLF
  EXPECT_EQ(dot_stuff(""), ".\r\n");
  // Round trip through the receiving side.
  mailfort::proto::smtp::DataReader r(1 << 20, 1000);
  std::string msg = "Subject: x\r\n\r\n.hidden\r\n.\r\nend\r\n";
  std::string wire = dot_stuff(msg), out;
  EXPECT_EQ(r.feed(wire, out), wire.size());
  EXPECT_TRUE(r.done());
  EXPECT_EQ(out, msg);
}
