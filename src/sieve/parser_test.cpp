#include "sieve/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::sieve {
namespace {

Script ok(std::string_view text) {
  auto r = parse(text);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].message);
  return r.script;
}

CompileError bad(std::string_view text, std::size_t max_nesting = 64) {
  auto r = parse(text, max_nesting);
  EXPECT_EQ(r.errors.size(), 1u);
  return r.errors.empty() ? CompileError{} : r.errors[0];
}

TEST(SieveParser, EmptyScriptAndComments) {
  EXPECT_TRUE(ok("").commands.empty());
  EXPECT_TRUE(ok("  # only a comment\r\n/* and\r\n a bracket comment */\n").commands.empty());
}

TEST(SieveParser, CommandWithArgumentsTestAndBlock) {
  auto s = ok("if header :Contains \"Subject\" [\"a\", \"b\"] { fileinto \"x\"; stop; }\nkeep;");
  ASSERT_EQ(s.commands.size(), 2u);
  const Command& c = s.commands[0];
  EXPECT_EQ(c.name, "if");
  EXPECT_TRUE(c.has_block);
  ASSERT_EQ(c.tests.size(), 1u);
  const sieve::Test& t = c.tests[0];
  EXPECT_EQ(t.name, "header");
  ASSERT_EQ(t.args.size(), 3u);
  EXPECT_EQ(t.args[0].kind, Argument::Kind::Tag);
  EXPECT_EQ(t.args[0].tag, "contains");  // tags are lower-cased
  EXPECT_EQ(t.args[1].kind, Argument::Kind::String);
  EXPECT_EQ(t.args[1].strings, std::vector<std::string>{"Subject"});
  EXPECT_EQ(t.args[2].kind, Argument::Kind::StringList);
  EXPECT_EQ(t.args[2].strings, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(c.block.size(), 2u);
  EXPECT_EQ(c.block[1].name, "stop");
  EXPECT_FALSE(s.commands[1].has_block);
  EXPECT_EQ(s.commands[1].pos.line, 2);
  EXPECT_EQ(s.commands[1].pos.column, 1);
}

TEST(SieveParser, IdentifiersAreCaseInsensitive) {
  auto s = ok("KeeP;");
  EXPECT_EQ(s.commands[0].name, "keep");
}

TEST(SieveParser, TestListAndNestedTests) {
  auto s = ok("if anyof (not exists \"x\", allof (true, false)) { }");
  const sieve::Test& t = s.commands[0].tests[0];
  EXPECT_EQ(t.name, "anyof");
  ASSERT_EQ(t.tests.size(), 2u);
  EXPECT_EQ(t.tests[0].name, "not");
  ASSERT_EQ(t.tests[0].tests.size(), 1u);
  EXPECT_EQ(t.tests[0].tests[0].name, "exists");
  EXPECT_EQ(t.tests[1].tests.size(), 2u);
  EXPECT_EQ(t.tests[1].tests[1].pos.column, 40);
}

TEST(SieveParser, NumbersWithQuantifiers) {
  auto s = ok("x 10 1K 2m 3G 0;");
  const auto& a = s.commands[0].args;
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].number, 10u);
  EXPECT_EQ(a[1].number, 1024u);
  EXPECT_EQ(a[2].number, 2u << 20);
  EXPECT_EQ(a[3].number, 3ull << 30);
  EXPECT_EQ(a[4].number, 0u);
}

TEST(SieveParser, NumberOverflowIsAnError) {
  EXPECT_EQ(bad("x 99999999999999999999999;").message, "number too large");
  EXPECT_EQ(bad("x 18446744073709551615G;").message, "number too large");
  EXPECT_EQ(bad("x 12abc;").message, "invalid number");
}

TEST(SieveParser, QuotedStringEscapes) {
  auto s = ok(R"(x "a\"b\\c\d";)");
  EXPECT_EQ(s.commands[0].args[0].strings[0], "a\"b\\cd");
}

TEST(SieveParser, QuotedStringMayHoldLineBreaks) {
  auto s = ok("x \"a\r\nb\";\nkeep;");
  EXPECT_EQ(s.commands[0].args[0].strings[0], "a\r\nb");
  EXPECT_EQ(s.commands[1].pos.line, 3);
}

TEST(SieveParser, MultiLineStringDotStuffingAndComment) {
  auto s = ok("x text: # comment\r\nline one\r\n..dot\r\n.\r\n;keep;");
  ASSERT_EQ(s.commands.size(), 2u);
  EXPECT_EQ(s.commands[0].args[0].strings[0], "line one\r\n.dot\r\n");
  EXPECT_EQ(s.commands[1].pos.line, 5);
}

TEST(SieveParser, MultiLineStringWithLfLineEnds) {
  auto s = ok("x text:\nhello\n.\n;");
  EXPECT_EQ(s.commands[0].args[0].strings[0], "hello\r\n");
}

TEST(SieveParser, MultiLineStringInList) {
  auto s = ok("x [text:\na\n.\n, \"b\"];");
  EXPECT_EQ(s.commands[0].args[0].strings, (std::vector<std::string>{"a\r\n", "b"}));
}

TEST(SieveParser, UnterminatedTokens) {
  auto e = bad("keep;\n x \"abc");
  EXPECT_EQ(e.message, "unterminated string");
  EXPECT_EQ(e.pos.line, 2);
  EXPECT_EQ(e.pos.column, 4);
  EXPECT_EQ(bad("x text:\nabc\n").message, "unterminated multi-line string (no line with a single '.')");
  EXPECT_EQ(bad("/* open").message, "unterminated comment");
  EXPECT_EQ(bad("x text: junk\nabc\n.\n;").message, "expected a line break after 'text:'");
}

TEST(SieveParser, SyntaxErrorsCarryPositions) {
  auto e = bad("keep");
  EXPECT_EQ(e.message, "expected ';' or a block, found end of script");
  e = bad("if true { keep; ");
  EXPECT_EQ(e.message, "missing '}' for the block of 'if'");
  e = bad("x [\"a\" \"b\"];");
  EXPECT_EQ(e.message, "expected ',' or ']', found string");
  EXPECT_EQ(e.pos.column, 8);
  e = bad("x [];");
  EXPECT_EQ(e.message, "expected a string in the string list, found ']'");
  e = bad("if anyof (true; false) {}");
  EXPECT_EQ(e.message, "expected ',' or ')', found ';'");
  e = bad("if anyof () {}");
  EXPECT_EQ(e.message, "expected a test, found ')'");
  e = bad("keep;\n\n  @");
  EXPECT_EQ(e.message, "unexpected character '@'");
  EXPECT_EQ(e.pos.line, 3);
  EXPECT_EQ(e.pos.column, 3);
  e = bad("x : y;");
  EXPECT_EQ(e.message, "expected a tag name after ':'");
  e = bad("\"s\";");
  EXPECT_EQ(e.message, "expected a command, found string");
  e = bad("}");
  EXPECT_EQ(e.message, "expected a command, found '}'");
}

TEST(SieveParser, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "if true {";
  for (int i = 0; i < 100; ++i) deep += "}";
  EXPECT_NE(bad(deep).message.find("nesting too deep"), std::string::npos);
  std::string tests = "if ";
  for (int i = 0; i < 100000; ++i) tests += "not ";
  tests += "true {}";
  EXPECT_NE(bad(tests).message.find("nesting too deep"), std::string::npos);
  std::string lists = "if ";
  for (int i = 0; i < 100000; ++i) lists += "anyof(";
  EXPECT_NE(bad(lists).message.find("nesting too deep"), std::string::npos);
  // 10 levels of blocks fit a limit of 16.
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += "if true {";
  for (int i = 0; i < 10; ++i) ten += "}";
  EXPECT_TRUE(parse(ten, 16).errors.empty());
}

TEST(SieveParser, BareCrCountsAsLineBreak) {
  auto s = ok("keep;\rstop;");
  EXPECT_EQ(s.commands[1].pos.line, 2);
}

TEST(SieveParser, ControlCharacterIsReportedInHex) {
  EXPECT_EQ(bad(std::string("keep;\x01", 6)).message, "unexpected character '\\x01'");
}

}  // namespace
}  // namespace mailfort::sieve
