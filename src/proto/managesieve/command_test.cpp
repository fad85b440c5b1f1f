// ManageSieve command lines (RFC 5804 4): names, quoted strings, literals
// of both forms, numbers, the bounds, and the response builders.
#include "proto/managesieve/command.h"

#include <gtest/gtest.h>

namespace mailfort::proto::managesieve {
namespace {

using Status = CommandParser::Status;

TEST(ManageSieveCommand, NameAndQuotedStrings) {
  CommandParser p;
  ASSERT_EQ(p.feed_line("havespace \"my \\\"script\\\\\" 1234"), Status::Complete);
  auto c = p.take();
  EXPECT_EQ(c.name, "HAVESPACE");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].kind, Argument::Kind::String);
  EXPECT_EQ(c.args[0].text, "my \"script\\");
  EXPECT_EQ(c.args[1].kind, Argument::Kind::Number);
  EXPECT_EQ(c.args[1].number, 1234u);
  ASSERT_EQ(p.feed_line("LOGOUT"), Status::Complete);
  EXPECT_EQ(p.take().name, "LOGOUT");
  ASSERT_EQ(p.feed_line("PUTSCRIPT \"\" \"\""), Status::Complete);
  EXPECT_EQ(p.command().args.size(), 2u);
}

TEST(ManageSieveCommand, LiteralsBothForms) {
  for (std::string form : {"{9+}", "{9}"}) {
    CommandParser p;
    ASSERT_EQ(p.feed_line("PUTSCRIPT \"a\" " + form), Status::NeedLiteral) << form;
    EXPECT_EQ(p.literal_size(), 9u);
    p.feed_literal("keep;\r\n\r\n");
    ASSERT_EQ(p.feed_line(""), Status::Complete);
    auto c = p.take();
    EXPECT_EQ(c.name, "PUTSCRIPT");
    ASSERT_EQ(c.args.size(), 2u);
    EXPECT_EQ(c.args[1].text, "keep;\r\n\r\n");
    EXPECT_TRUE(c.args[1].literal);
  }
  // A literal as the first argument, followed by more on the next line.
  CommandParser p;
  ASSERT_EQ(p.feed_line("RENAMESCRIPT {1+}"), Status::NeedLiteral);
  p.feed_literal("a");
  ASSERT_EQ(p.feed_line(" \"b\""), Status::Complete);
  auto c = p.take();
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].text, "a");
  EXPECT_EQ(c.args[1].text, "b");
}

TEST(ManageSieveCommand, SyntaxErrors) {
  CommandParser p;
  for (std::string bad :
       {"", " NOOP", "NOOP ", "NOOP \"open", "NOOP \"bad\\n\"", "NOOP abc", "NOOP \"a\"\"b\"",
        "PUTSCRIPT \"a\" {5+} x", "PUTSCRIPT \"a\" {+}", "PUTSCRIPT \"a\" {x}", "HAVESPACE \"a\" 4294967296",
        "HAVESPACE \"a\" 123456789012", "1NOOP"}) {
    EXPECT_EQ(p.feed_line(bad), Status::Error) << bad;
    EXPECT_FALSE(p.error().empty());
  }
  // After an error the next command parses.
  EXPECT_EQ(p.feed_line("NOOP"), Status::Complete);
}

TEST(ManageSieveCommand, Bounds) {
  Limits l;
  l.max_literal = 100;
  l.max_args = 3;
  l.max_command = 300;
  CommandParser p(l);
  EXPECT_EQ(p.feed_line("PUTSCRIPT \"a\" {101+}"), Status::Error);
  EXPECT_TRUE(p.literal_too_big());
  EXPECT_EQ(p.literal_size(), 101u);
  EXPECT_EQ(p.feed_line("PUTSCRIPT \"a\" {99999999999+}"), Status::Error);
  EXPECT_EQ(p.feed_line("NOOP"), Status::Complete);
  EXPECT_FALSE(p.literal_too_big());
  EXPECT_EQ(p.feed_line("NOOP 1 2 3 4"), Status::Error);
  EXPECT_EQ(p.feed_line("NOOP 1 2 3"), Status::Complete);
  EXPECT_EQ(p.feed_line("NOOP \"" + std::string(400, 'x') + "\""), Status::Error);
  // Literal after literal adds up against max_command.
  ASSERT_EQ(p.feed_line("X {100+}"), Status::NeedLiteral);
  p.feed_literal(std::string(100, 'a'));
  ASSERT_EQ(p.feed_line(" {100+}"), Status::NeedLiteral);
  p.feed_literal(std::string(100, 'a'));
  EXPECT_EQ(p.feed_line(" {100+}"), Status::Error);
}

TEST(ManageSieveResponse, Builders) {
  EXPECT_EQ(response("OK", "", ""), "OK\r\n");
  EXPECT_EQ(response("NO", "QUOTA/MAXSIZE", "Too big"), "NO (QUOTA/MAXSIZE) \"Too big\"\r\n");
  EXPECT_EQ(response("OK", "TAG " + quoted("a\"b"), "Done"), "OK (TAG \"a\\\"b\") \"Done\"\r\n");
  EXPECT_EQ(response("NO", "", "line 1: x\r\nline 2: y"), "NO {20}\r\nline 1: x\r\nline 2: y\r\n");
  EXPECT_EQ(string_value("a\\b"), "\"a\\\\b\"");
  EXPECT_EQ(string_value(std::string(1025, 'x')), "{1025}\r\n" + std::string(1025, 'x'));
  EXPECT_EQ(literal(""), "{0}\r\n");
}

}  // namespace
}  // namespace mailfort::proto::managesieve
