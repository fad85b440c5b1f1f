// The RFC 9051 / RFC 3501 9 grammar at its edges: atoms, astrings and
// list-mailbox characters, literal8 only where it belongs, 32-bit numbers
// in sequence sets, LIST-EXTENDED arguments. Each input is also parsed
// from every prefix, which must be refused cleanly (never crash or loop).
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/command.h"

using namespace std::literals;

namespace mailfort::proto::imap {
namespace {

Command parsed(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(r.command) << text << ": " << r.error.message;
  for (std::size_t n = 0; n < text.size(); ++n) (void)parse_command(text.substr(0, n));
  return r.command ? *r.command : Command{};
}

bool refused(std::string_view text) {
  return !parse_command(text).command;
}

TEST(ImapSyntax, TildeStartsAnAtomNotALiteral8) {
  // imaptest "atoms": "~foo" is an atom; only APPEND takes literal8.
  EXPECT_EQ(parsed("a SELECT ~foo").args[0], "~foo");
  EXPECT_EQ(parsed("a LIST \"\" ~foo").list.patterns[0], "~foo");
  EXPECT_EQ(parsed("a LSUB ~ ~%").list.patterns[0], "~%");
  EXPECT_TRUE(refused("a SELECT ~{3}\r\nabc"));
  EXPECT_TRUE(refused("a LOGIN ~{1}\r\nx y"));
  auto append = parsed("a APPEND x ~{3}\r\na\0b"sv);
  ASSERT_EQ(append.appends.size(), 1u);
  EXPECT_EQ(append.appends[0].literal, "a\0b"sv);
  EXPECT_TRUE(append.appends[0].binary);
}

TEST(ImapSyntax, EveryAtomCharAndResponseSpecialInAnAstring) {
  const std::string chars = "!#$&'+,-.0123456789:;<=>?@^_`|[}~";
  EXPECT_EQ(parsed("a SELECT " + chars).args[0], chars);
  EXPECT_EQ(parsed("a SELECT " + chars + "]").args[0], chars + "]");  // resp-specials in astring
  auto l = parsed("a LIST \"\" " + chars + "]%*");
  EXPECT_EQ(l.list.patterns[0], chars + "]%*");
  for (std::string special : {"(", ")", "{", "%", "*", "\"", "\\"})
    EXPECT_TRUE(refused("a SELECT x" + special + "y")) << special;
  EXPECT_TRUE(refused("a SELECT x\x01y"));
  EXPECT_TRUE(refused("a SELECT x\x7fy"));
  EXPECT_EQ(parsed("a] NOOP").tag, "a]");  // a tag is ASTRING-CHARs but "+"
}

TEST(ImapSyntax, SequenceNumbersAreThirtyTwoBitUnsigned) {
  auto c = parsed("a UID SEARCH UID 1:4294967295");
  ASSERT_EQ(c.search.children.size(), 1u);
  const auto& set = c.search.children[0].set;
  ASSERT_EQ(set.ranges.size(), 1u);
  EXPECT_EQ(set.ranges[0].lo, 1u);
  EXPECT_EQ(set.ranges[0].hi, 4294967295u);
  EXPECT_NE(set.ranges[0].hi, SequenceSet::kStar);
  // 4294967295 is a number, not "*": nothing between UIDNEXT and it exists.
  auto upper = parsed("a UID SEARCH UID 7:4294967295").search.children[0].set;
  EXPECT_FALSE(upper.contains(6, 6));  // "*" would have made it 6:7
  EXPECT_TRUE(upper.contains(4294967295u, 6));
  auto star = parsed("a UID SEARCH UID 7:*").search.children[0].set;
  EXPECT_TRUE(star.contains(6, 6));  // 7:* with 6 the largest is 6:7
  EXPECT_TRUE(refused("a UID FETCH 4294967296 FLAGS"));
  EXPECT_TRUE(refused("a UID FETCH 1:4294967296 FLAGS"));
  EXPECT_TRUE(refused("a UID FETCH 99999999999999999999999 FLAGS"));
  EXPECT_TRUE(refused("a FETCH 0 FLAGS"));
  EXPECT_TRUE(refused("a FETCH 0:3 FLAGS"));
  EXPECT_TRUE(refused("a UID STORE 0 +FLAGS x"));
  for (auto cmd : {"a UID FETCH 4294967295 FLAGS", "a UID STORE 4294967295 +FLAGS x",
                   "a UID COPY 4294967295 x", "a UID MOVE 1:4294967295 x", "a UID EXPUNGE 4294967295",
                   "a SEARCH 4294967295", "a FETCH 1:4294967295 FLAGS"})
    EXPECT_EQ(parsed(cmd).set.ranges.size() + parsed(cmd).search.children.size(), 1u) << cmd;
}

TEST(ImapSyntax, StarIsKeptAsTheUpperEnd) {
  auto c = parsed("a FETCH *:3,5:2,*,4 FLAGS");
  ASSERT_EQ(c.set.ranges.size(), 4u);
  EXPECT_EQ(c.set.ranges[0].lo, 3u);
  EXPECT_EQ(c.set.ranges[0].hi, SequenceSet::kStar);
  EXPECT_EQ(c.set.ranges[1].lo, 2u);
  EXPECT_EQ(c.set.ranges[1].hi, 5u);
  EXPECT_EQ(c.set.ranges[2].lo, SequenceSet::kStar);
  EXPECT_EQ(c.set.ranges[2].hi, SequenceSet::kStar);
  EXPECT_TRUE(c.set.contains(10, 10));
  EXPECT_TRUE(c.set.contains(3, 10));
  EXPECT_FALSE(c.set.contains(1, 10));
  EXPECT_TRUE(c.set.contains(2, 2));  // *:3 with 2 messages is 2:3
  // With no largest number known, "*" is unbounded.
  auto open = parsed("a UID FETCH 5:* FLAGS").set;
  EXPECT_TRUE(open.contains(4294967295u, SequenceSet::kStar));
  EXPECT_FALSE(open.contains(4, SequenceSet::kStar));
}

TEST(ImapSyntax, ListExtendedArguments) {
  auto c = parsed(
      "a LIST (SUBSCRIBED RECURSIVEMATCH remote) \"\" (a% \"b c\" {1}\r\nd) RETURN (CHILDREN "
      "SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UIDNEXT))");
  EXPECT_TRUE(c.list.extended);
  EXPECT_TRUE(c.list.subscribed);
  EXPECT_TRUE(c.list.recursive_match);
  EXPECT_EQ(c.list.patterns, (std::vector<std::string>{"a%", "b c", "d"}));
  EXPECT_TRUE(c.list.return_children && c.list.return_subscribed && c.list.return_special_use);
  ASSERT_TRUE(c.list.return_status);
  EXPECT_TRUE(c.list.return_status->messages && c.list.return_status->uidnext);
  EXPECT_TRUE(parsed("a LIST (SPECIAL-USE RECURSIVEMATCH) \"\" *").list.special_use);
  EXPECT_TRUE(parsed("a LIST (REMOTE) \"\" %").list.extended);
  EXPECT_TRUE(parsed("a LIST () \"\" %").list.extended);
  EXPECT_TRUE(refused("a LIST (imaptest) \"\" \"\""));
  EXPECT_TRUE(refused("a LIST (RECURSIVEMATCH) \"\" \"\""));
  EXPECT_TRUE(refused("a LIST (RECURSIVEMATCH REMOTE) \"\" \"\""));
  EXPECT_TRUE(refused("a LIST \"\" \"\" RETURN (imaptest)"));
  EXPECT_TRUE(refused("a LIST \"\" ()"));
  EXPECT_TRUE(refused("a LIST \"\" (a"));
}

}  // namespace
}  // namespace mailfort::proto::imap
