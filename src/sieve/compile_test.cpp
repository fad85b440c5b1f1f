#include "sieve/compile.h"

#include <gtest/gtest.h>

namespace mailfort::sieve {
namespace {

std::string first_error(std::string_view text) {
  auto r = compile(text);
  if (r.ok()) return "";
  return format_error("s", r.errors[0]);
}

TEST(SieveCompile, Rfc5228Example) {
  auto r = compile(R"(require ["fileinto", "reject"];
if header :is "Sender" "owner-ietf-mta-filters@imc.org" { fileinto "filter"; }
elsif address :DOMAIN :is ["From", "To"] "example.com" { keep; }
elsif anyof (not address :all :contains ["To", "Cc", "Bcc"] "me@example.com",
             header :matches "subject" ["*make*money*fast*", "*university*dipl*mas*"]) {
  fileinto "spam";
} else { fileinto "personal"; }
)");
  ASSERT_TRUE(r.ok()) << format_error("s", r.errors[0]);
  const auto& cmds = r.script->script.commands;
  EXPECT_EQ(cmds[0].code, CommandCode::Require);
  EXPECT_EQ(cmds[1].code, CommandCode::If);
  EXPECT_EQ(cmds[1].tests[0].code, TestCode::Header);
  EXPECT_EQ(cmds[1].block[0].code, CommandCode::FileInto);
  EXPECT_EQ(cmds[4].code, CommandCode::Else);
  EXPECT_EQ(r.script->script.requires_, (std::vector<std::string>{"fileinto", "reject"}));
}

TEST(SieveCompile, UnknownCommandAndTest) {
  EXPECT_EQ(first_error("fileinot \"x\";"), "s:1:1: unknown command 'fileinot'");
  EXPECT_EQ(first_error("if foo { }"), "s:1:4: unknown test 'foo'");
}

TEST(SieveCompile, ExtensionsMustBeRequired) {
  EXPECT_EQ(first_error("fileinto \"x\";"), "s:1:1: command 'fileinto' requires the extension \"fileinto\"");
  EXPECT_EQ(first_error("require \"fileinto\"; fileinto :copy \"x\";"),
            "s:1:30: tag ':copy' requires the extension \"copy\"");
  EXPECT_EQ(first_error("if header :regex \"a\" \"b\" {}"),
            "s:1:11: tag ':regex' requires the extension \"regex\"");
  EXPECT_EQ(first_error("if header :count \"gt\" \"a\" \"1\" {}"),
            "s:1:11: tag ':count' requires the extension \"relational\"");
  EXPECT_EQ(first_error("if header :comparator \"i;ascii-numeric\" \"a\" \"1\" {}"),
            "s:1:23: comparator 'i;ascii-numeric' requires the extension \"comparator-i;ascii-numeric\"");
  EXPECT_EQ(first_error("if address :user \"to\" \"a\" {}"),
            "s:1:12: tag ':user' requires the extension \"subaddress\"");
}

TEST(SieveCompile, RequireRules) {
  EXPECT_EQ(first_error("require \"frobnicate\";"), "s:1:9: unsupported extension 'frobnicate'");
  EXPECT_EQ(first_error("keep; require \"fileinto\";"), "s:1:7: 'require' must come before other commands");
  EXPECT_EQ(first_error("require 5;"), "s:1:1: 'require' takes a string or a string list");
  CompileOptions only;
  only.extensions = {"fileinto"};
  EXPECT_FALSE(compile("require \"reject\";", only).ok());
  EXPECT_TRUE(compile("require \"fileinto\";", only).ok());
}

TEST(SieveCompile, IfElsifElseOrderAndBlocks) {
  EXPECT_EQ(first_error("else { }"), "s:1:1: 'else' without a preceding 'if'");
  EXPECT_EQ(first_error("keep; elsif true { }"), "s:1:7: 'elsif' without a preceding 'if'");
  EXPECT_EQ(first_error("if true;"), "s:1:1: 'if' needs a block");
  EXPECT_EQ(first_error("keep { }"), "s:1:1: 'keep' takes no block");
  EXPECT_EQ(first_error("if { }"), "s:1:1: 'if' takes exactly one test");
}

TEST(SieveCompile, StaticValueChecks) {
  EXPECT_EQ(first_error("if header :comparator \"i;nope\" \"a\" \"b\" {}"),
            "s:1:23: unknown comparator 'i;nope'");
  EXPECT_EQ(first_error("require \"relational\"; if header :value \"xx\" \"a\" \"b\" {}"),
            "s:1:40: invalid relational operator 'xx'");
  EXPECT_EQ(first_error("if header \"bad name:\" \"b\" {}"), "s:1:11: invalid header name 'bad name:'");
  EXPECT_EQ(first_error("if exists \"\" {}"), "s:1:11: invalid header name ''");
}

TEST(SieveCompile, IhaveSkipsChecksForUnknownExtensions) {
  EXPECT_TRUE(compile("require \"ihave\"; if ihave \"x-unknown\" { frob \"y\"; } else { keep; }").ok());
  EXPECT_FALSE(compile("require \"ihave\"; if ihave \"fileinto\" { frob \"y\"; }").ok());
}

TEST(SieveCompile, EncodedCharacterIsDecodedWhenRequired) {
  auto r = compile("require \"encoded-character\"; redirect \"${hex:41 42}${unicode:20ac}${hex:zz}\";");
  ASSERT_TRUE(r.ok()) << format_error("s", r.errors[0]);
  EXPECT_EQ(r.script->script.commands[1].args[0].strings[0], "AB\xE2\x82\xAC${hex:zz}");
  r = compile("redirect \"${hex:41}\";");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.script->script.commands[0].args[0].strings[0], "${hex:41}");
}

TEST(SieveCompile, VariablesMarkExpandableStrings) {
  auto r = compile("require \"variables\"; set \"a\" \"${b}\"; set \"c\" \"d\";");
  ASSERT_TRUE(r.ok()) << format_error("s", r.errors[0]);
  EXPECT_TRUE(r.script->script.commands[1].args[1].may_expand);
  EXPECT_FALSE(r.script->script.commands[2].args[1].may_expand);
}

TEST(SieveCompile, ArgumentSignatures) {
  EXPECT_EQ(first_error("require \"fileinto\"; fileinto;"),
            "s:1:21: command 'fileinto' takes 1 positional argument, not 0");
  EXPECT_EQ(first_error("require \"fileinto\"; fileinto \"a\" \"b\";"),
            "s:1:34: command 'fileinto' takes 1 positional argument, not 2");
  EXPECT_EQ(first_error("require \"fileinto\"; fileinto 42;"),
            "s:1:30: command 'fileinto': argument 1 must be a string");
  EXPECT_EQ(first_error("keep \"x\";"), "s:1:6: command 'keep' takes 0 positional arguments, not 1");
  EXPECT_EQ(first_error("if header \"subject\" { keep; }"),
            "s:1:4: test 'header' takes 2 positional arguments, not 1");
  EXPECT_EQ(first_error("if address :all :localpart \"from\" \"x\" { keep; }"),
            "s:1:17: tag ':localpart' conflicts with ':all'");
  EXPECT_EQ(first_error("if size 100 { keep; }"), "s:1:4: test 'size' needs :over or :under");
  EXPECT_EQ(first_error("if size :over \"x\" { keep; }"), "s:1:15: test 'size': argument 1 must be a number");
  EXPECT_EQ(first_error("if header :is :is \"a\" \"b\" {}"), "s:1:15: tag ':is' given twice");
  EXPECT_EQ(first_error("if header :frob \"a\" \"b\" {}"), "s:1:11: unknown tag ':frob' for test 'header'");
  EXPECT_EQ(first_error("if header \"a\" :is \"b\" {}"),
            "s:1:15: tag ':is' must come before the other arguments of test 'header'");
  EXPECT_EQ(first_error("require \"vacation\"; vacation :days \"x\" \"b\";"),
            "s:1:30: tag ':days' needs a number after it");
  EXPECT_EQ(first_error("require [\"vacation\", \"vacation-seconds\"]; vacation :days 1 :seconds 2 \"b\";"),
            "s:1:60: tag ':seconds' conflicts with ':days'");
  EXPECT_EQ(first_error("require \"variables\"; set :upper :lower \"a\" \"b\";"),
            "s:1:33: tag ':lower' conflicts with ':upper'");
  EXPECT_EQ(first_error("require \"variables\"; set \"1a\" \"b\";"), "s:1:26: invalid variable name '1a'");
  EXPECT_EQ(first_error("require \"envelope\"; if envelope \"bogus\" \"x\" {}"),
            "s:1:33: unknown envelope part 'bogus'");
  EXPECT_EQ(first_error("require \"editheader\"; addheader \"Bad Name\" \"v\";"),
            "s:1:33: invalid header name 'Bad Name'");
  EXPECT_EQ(first_error("require \"include\"; include :personal :global \"x\";"),
            "s:1:38: tag ':global' conflicts with ':personal'");
  EXPECT_EQ(first_error("require [\"index\", \"date\"]; if header :last \"s\" \"x\" {}"),
            "s:1:38: tag ':last' needs ':index'");
  EXPECT_EQ(first_error("require \"copy\"; redirect :copy :copy \"a@b.c\";"),
            "s:1:32: tag ':copy' given twice");
}

TEST(SieveCompile, ValidSignaturesCompile) {
  for (const char* ok : {
           "require [\"imap4flags\", \"variables\"]; setflag \"v\" \"\\\\Seen\"; addflag \"\\\\Flagged\";",
           "require [\"imap4flags\", \"fileinto\", \"copy\", \"mailbox\"]; fileinto :copy :flags \"x\" "
           ":create \"A\";",
           "require \"editheader\"; deleteheader \"X-A\"; deleteheader :is \"X-B\" [\"1\", \"2\"];",
           "require \"editheader\"; addheader :last \"X-A\" \"v\";",
           "require \"duplicate\"; if duplicate :header \"message-id\" :seconds 60 :last {}",
           "require [\"date\", \"relational\"]; if currentdate :zone \"+0100\" :value \"ge\" \"hour\" \"09\" "
           "{}",
           "require \"date\"; if date :originalzone \"date\" \"year\" \"2020\" {}",
           "require \"body\"; if body :content [\"text\"] :contains \"x\" {}",
           "require [\"variables\", \"envelope\"]; set \"p\" \"from\"; if envelope \"${p}\" \"x\" {}",
           "require \"variables\"; set \"global.x\" \"1\"; set :lower :upperfirst \"a\" \"B\";",
           "if size :under 1K { stop; }",
       }) {
    auto r = compile(ok);
    EXPECT_TRUE(r.ok()) << ok << ": " << (r.ok() ? "" : format_error("s", r.errors[0]));
  }
}

TEST(SieveCompile, UnknownDatePartIsAWarning) {
  auto r = compile("require \"date\"; if currentdate \"bogus\" \"1\" {}");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.script->warnings.size(), 1u);
  EXPECT_EQ(r.script->warnings[0], "1:32: unknown date part 'bogus'");
}

TEST(SieveCompile, ImpliedExtensions) {
  EXPECT_FALSE(compile("require \"spamtestplus\"; if spamtest :percent :value \"gt\" \"5\" {}").ok());
  EXPECT_TRUE(
      compile("require [\"spamtestplus\", \"relational\"]; if spamtest :percent :value \"gt\" \"5\" {}")
          .ok());
  EXPECT_TRUE(compile("require [\"vacation-seconds\"]; vacation :seconds 60 \"x\";").ok());
}

TEST(SieveCompile, TooLargeAndTooManyErrors) {
  CompileOptions o;
  o.max_script_size = 4;
  EXPECT_EQ(compile("keep;", o).errors[0].message, "script too large (at most 4 bytes)");
  std::string many;
  for (int i = 0; i < 100; ++i) many += "frob;";
  EXPECT_EQ(compile(many).errors.size(), 20u);
}

}  // namespace
}  // namespace mailfort::sieve
