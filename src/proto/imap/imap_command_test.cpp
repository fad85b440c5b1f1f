#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "proto/imap/command.h"

using namespace std::literals;

namespace mailfort::proto::imap {
namespace {

Command ok(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(r.command) << text << ": " << r.error.message;
  return r.command ? *r.command : Command{};
}

std::string bad(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_FALSE(r.command) << text;
  return r.error.tag + "|" + r.error.message;
}

TEST(ImapCommand, SimpleCommandsAndTags) {
  auto c = ok("a1 noop");
  EXPECT_EQ(c.tag, "a1");
  EXPECT_EQ(c.name(), "NOOP");
  EXPECT_EQ(bad("a1 NOOP extra"), "a1|syntax error in NOOP arguments");
  EXPECT_EQ(bad("a+b NOOP"), "|invalid tag");
  EXPECT_EQ(bad("*"), "|invalid tag");
  EXPECT_EQ(bad("a1"), "a1|missing command");
  EXPECT_EQ(bad("a1 FROB"), "a1|unknown command");
  EXPECT_EQ(bad("a1 UID NOOP"), "a1|unknown UID command");
}

TEST(ImapCommand, LoginStringsQuotedAndLiteral) {
  auto c = ok("a LOGIN \"al\\\"ice\" {5}\r\npa ss");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0], "al\"ice");
  EXPECT_EQ(c.args[1], "pa ss");
  EXPECT_FALSE(parse_command("a LOGIN alice {3+}\r\nx\0y"sv).command);  // NUL is not CHAR8
  EXPECT_TRUE(parse_command("a APPEND x {3+}\r\nx\0y"sv).command);
  EXPECT_FALSE(parse_command("a LOGIN \"a\0b\" x"sv).command);  // NUL in quoted string
  EXPECT_FALSE(parse_command("a LOGIN alice {10}\r\nshort").command);
  EXPECT_FALSE(parse_command("a LOGIN \"unterminated").command);
  EXPECT_FALSE(parse_command("a LOGIN \"bad\\escape\" x").command);
}

TEST(ImapCommand, FetchItems) {
  auto c =
      ok("a UID FETCH 1:*,5 (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From to)]<0.100> BINARY[2] RFC822.SIZE)");
  EXPECT_TRUE(c.uid);
  ASSERT_EQ(c.set.ranges.size(), 2u);
  EXPECT_EQ(c.set.ranges[0].hi, SequenceSet::kStar);
  ASSERT_EQ(c.fetch.size(), 4u);
  EXPECT_EQ(c.fetch[1].kind, FetchItem::Kind::BodySection);
  EXPECT_TRUE(c.fetch[1].peek);
  EXPECT_EQ(c.fetch[1].section.part, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(c.fetch[1].section.kind, Section::Kind::HeaderFields);
  EXPECT_EQ(c.fetch[1].section.fields, (std::vector<std::string>{"FROM", "TO"}));
  EXPECT_EQ(c.fetch[1].section.text, "1.2.HEADER.FIELDS (FROM TO)");
  EXPECT_EQ(*c.fetch[1].partial_offset, 0u);
  EXPECT_EQ(*c.fetch[1].partial_length, 100u);
  EXPECT_EQ(c.fetch[2].kind, FetchItem::Kind::BinarySection);
  c = ok("a FETCH 1 ALL");
  EXPECT_EQ(c.fetch.size(), 4u);
  c = ok("a FETCH 1 BODY[]");
  EXPECT_EQ(c.fetch[0].section.text, "");
  c = ok("a FETCH 1:3 (UID FLAGS) (CHANGEDSINCE 12345)");
  EXPECT_EQ(*c.changed_since, 12345u);
  c = ok("a FETCH 2 body[text]");
  EXPECT_EQ(c.fetch[0].section.kind, Section::Kind::Text);
  EXPECT_FALSE(parse_command("a FETCH 0 FLAGS").command);
  EXPECT_FALSE(parse_command("a FETCH 1 BODY[MIME]").command);
  EXPECT_FALSE(parse_command("a FETCH 1 BINARY[HEADER]").command);
  EXPECT_FALSE(parse_command("a FETCH 1 (FLAGS").command);
  EXPECT_FALSE(parse_command("a FETCH 1 BODY[1]<5.0>").command);
}

TEST(ImapCommand, StoreAndCopy) {
  auto c = ok("a STORE 1:2 +FLAGS.SILENT (\\Seen $Junk)");
  EXPECT_EQ(c.store.mode, StoreArgs::Mode::Add);
  EXPECT_TRUE(c.store.silent);
  EXPECT_EQ(c.store.flags, (std::vector<std::string>{"\\Seen", "$Junk"}));
  c = ok("a UID STORE 5 (UNCHANGEDSINCE 7) -FLAGS \\Deleted");
  EXPECT_EQ(c.store.mode, StoreArgs::Mode::Remove);
  EXPECT_EQ(*c.store.unchanged_since, 7u);
  c = ok("a UID MOVE 1:* \"Trash\"");
  EXPECT_EQ(c.name(), "MOVE");
  EXPECT_EQ(c.args[0], "Trash");
}

TEST(ImapCommand, SearchPrograms) {
  auto c =
      ok("a SEARCH CHARSET UTF-8 OR FROM alice (SUBJECT {4}\r\nh\xc3\xa9! NOT SEEN) SINCE 1-Feb-2024 1:5 UID "
         "7:*");
  ASSERT_EQ(c.search.children.size(), 4u);
  EXPECT_EQ(c.search.children[0].op, SearchKey::Op::Or);
  EXPECT_EQ(c.search.children[0].children[1].children[0].text, "h\xc3\xa9!");
  EXPECT_EQ(c.search.children[1].op, SearchKey::Op::Since);
  EXPECT_EQ(c.search.children[1].number, 19754);
  EXPECT_EQ(c.search.children[2].op, SearchKey::Op::SequenceSet);
  c = ok("a UID SEARCH RETURN (MIN COUNT) HEADER X-Spam yes LARGER 100");
  EXPECT_TRUE(c.search_esearch);
  EXPECT_EQ(c.search_return.size(), 2u);
  EXPECT_EQ(bad("a SEARCH CHARSET KOI8-R ALL"), "a|[BADCHARSET (UTF-8 US-ASCII)] unsupported charset");
  EXPECT_FALSE(parse_command("a SEARCH SINCE 31-Feb-2024").command);
  EXPECT_FALSE(parse_command("a SEARCH ()").command);
  // Nesting is bounded, not a stack overflow.
  std::string deep = "a SEARCH " + std::string(100000, '(') + "ALL" + std::string(100000, ')');
  EXPECT_FALSE(parse_command(deep).command);
  std::string nots = "a SEARCH";
  for (int i = 0; i < 100000; ++i) nots += " NOT";
  EXPECT_FALSE(parse_command(nots + " ALL").command);
}

TEST(ImapCommand, TabInQuotedString) {
  auto c = ok("a SEARCH HEADER X \"a\tb\"");
  EXPECT_EQ(c.search.children[0].text, "a\tb");
}

TEST(ImapCommand, ListVariants) {
  auto c = ok("a LIST \"\" *");
  EXPECT_EQ(c.list.patterns[0], "*");
  EXPECT_FALSE(c.list.extended);
  c =
      ok("a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX \"Sent/%\") RETURN (CHILDREN STATUS (MESSAGES "
         "UNSEEN))");
  EXPECT_TRUE(c.list.subscribed);
  EXPECT_EQ(c.list.patterns.size(), 2u);
  EXPECT_TRUE(c.list.return_status->unseen);
  EXPECT_FALSE(parse_command("a LIST (RECURSIVEMATCH) \"\" *").command);
  c = ok("a LSUB \"\" %");
  EXPECT_TRUE(c.list.subscribed);
}

TEST(ImapCommand, AppendWithFlagsDateAndLiteral) {
  auto c = ok("a APPEND Drafts (\\Draft \\Seen) \" 5-Mar-2024 10:00:00 +0100\" {11+}\r\nhello\r\nworl");
  EXPECT_EQ(c.args[0], "Drafts");
  ASSERT_EQ(c.appends.size(), 1u);
  EXPECT_EQ(c.appends[0].flags.size(), 2u);
  EXPECT_EQ(*c.appends[0].date, 1709629200);
  EXPECT_EQ(c.appends[0].literal, "hello\r\nworl");
  EXPECT_FALSE(parse_command("a APPEND x \"junk\" {1}\r\nx").command);
}

TEST(ImapCommand, TrailingLiteral) {
  EXPECT_EQ(trailing_literal("a APPEND x {42}")->size, 42u);
  EXPECT_TRUE(trailing_literal("a LOGIN x {1+}")->non_sync);
  EXPECT_TRUE(trailing_literal("a APPEND x ~{1}")->binary);
  EXPECT_FALSE(trailing_literal("a LOGIN {x}"));
  EXPECT_FALSE(trailing_literal("a LOGIN {}"));
  EXPECT_FALSE(trailing_literal("a LOGIN {99999999999999999999}"));
}

TEST(ImapCommand, SequenceSetContains) {
  auto c = ok("a FETCH 2:4,*,10:8 FLAGS");
  EXPECT_TRUE(c.set.contains(3, 20));
  EXPECT_TRUE(c.set.contains(20, 20));
  EXPECT_TRUE(c.set.contains(9, 20));
  EXPECT_FALSE(c.set.contains(5, 20));
}

TEST(ImapText, DatesQuotingMutf7AndPatterns) {
  EXPECT_EQ(format_date_time(1709629200), "05-Mar-2024 09:00:00 +0000");
  EXPECT_EQ(*parse_date_time("05-Mar-2024 09:00:00 +0000"), 1709629200);
  EXPECT_FALSE(parse_date_time("05-Mar-2024 25:00:00 +0000"));
  EXPECT_EQ(quote("a\"b"), "\"a\\\"b\"");
  EXPECT_EQ(quote("a\r\nb"), "{4}\r\na\r\nb");
  EXPECT_EQ(mutf7_encode("Entw\xc3\xbcrfe"), "Entw&APw-rfe");
  EXPECT_EQ(mutf7_encode("A&B"), "A&-B");
  EXPECT_EQ(*mutf7_decode("Entw&APw-rfe"), "Entw\xc3\xbcrfe");
  EXPECT_EQ(*mutf7_decode("&ZeVnLIqe-"), "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  EXPECT_EQ(mutf7_encode("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), "&ZeVnLIqe-");
  EXPECT_FALSE(mutf7_decode("&Zz"));
  EXPECT_TRUE(list_match("*", "a/b/c", '/'));
  EXPECT_TRUE(list_match("a/%", "a/b", '/'));
  EXPECT_FALSE(list_match("a/%", "a/b/c", '/'));
  EXPECT_TRUE(list_match("%", "INBOX", '/'));
  EXPECT_FALSE(list_match("Sent", "Sent/x", '/'));
}

// A command cut short anywhere, as a client sending a byte at a time could
// leave it, is refused with BAD, carrying as much of the tag as was sent,
// unless the grammar makes that prefix a command of its own (`complete`: the
// only such prefixes); a literal with fewer bytes than announced never
// parses. Returns the whole command's parse.
ParseResult expect_prefixes_refused(std::string_view cmd, std::string_view tag,
                                    const std::vector<std::string_view>& complete = {}) {
  for (std::size_t i = 0; i < cmd.size(); ++i) {
    auto prefix = cmd.substr(0, i);
    auto r = parse_command(prefix);
    bool listed = std::find(complete.begin(), complete.end(), prefix) != complete.end();
    EXPECT_EQ(r.command.has_value(), listed) << "prefix of " << i << " bytes: " << prefix;
    if (r.command) continue;
    EXPECT_FALSE(r.error.message.empty()) << prefix;
    EXPECT_EQ(r.error.tag, prefix.substr(0, std::min(i, tag.size()))) << prefix;
  }
  return parse_command(cmd);
}

TEST(ImapCommand, ByteAtATimePrefixesAreRefusedOrCommandsOfTheirOwn) {
  std::string_view fetch = "a UID FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS (FROM)]<0.10>) (CHANGEDSINCE 1)";
  std::string_view fetch_items = fetch.substr(0, fetch.find(" (CHANGEDSINCE"));
  auto r = expect_prefixes_refused(fetch, "a", {fetch_items});
  ASSERT_TRUE(r.command) << r.error.message;
  EXPECT_EQ(r.command->tag, "a");
  EXPECT_EQ(r.command->name(), "FETCH");
  EXPECT_TRUE(r.command->uid);
  ASSERT_EQ(r.command->set.ranges.size(), 1u);
  EXPECT_EQ(r.command->set.ranges[0].lo, 1u);
  EXPECT_EQ(r.command->set.ranges[0].hi, SequenceSet::kStar);
  ASSERT_EQ(r.command->fetch.size(), 2u);
  EXPECT_EQ(r.command->fetch[0].kind, FetchItem::Kind::Flags);
  const auto& body = r.command->fetch[1];
  EXPECT_EQ(body.kind, FetchItem::Kind::BodySection);
  EXPECT_TRUE(body.peek);
  EXPECT_EQ(body.section.part, (std::vector<uint32_t>{1}));
  EXPECT_EQ(body.section.kind, Section::Kind::HeaderFields);
  EXPECT_EQ(body.section.fields, (std::vector<std::string>{"FROM"}));
  EXPECT_EQ(body.partial_offset, 0u);
  EXPECT_EQ(body.partial_length, 10u);
  EXPECT_EQ(r.command->changed_since, 1u);
  auto items = parse_command(fetch_items);  // the same without the modifier
  ASSERT_TRUE(items.command);
  EXPECT_EQ(items.command->fetch.size(), 2u);
  EXPECT_FALSE(items.command->changed_since);

  r = expect_prefixes_refused("a LOGIN {5}\r\nalice {3+}\r\npwd", "a");
  ASSERT_TRUE(r.command) << r.error.message;
  EXPECT_EQ(r.command->name(), "LOGIN");
  EXPECT_EQ(r.command->args, (std::vector<std::string>{"alice", "pwd"}));

  r = expect_prefixes_refused("ab APPEND INBOX (\\Seen) {5+}\r\nhello", "ab");
  ASSERT_TRUE(r.command) << r.error.message;
  EXPECT_EQ(r.command->tag, "ab");
  EXPECT_EQ(r.command->name(), "APPEND");
  EXPECT_EQ(r.command->args, (std::vector<std::string>{"INBOX"}));
  ASSERT_EQ(r.command->appends.size(), 1u);
  EXPECT_EQ(r.command->appends[0].flags, (std::vector<std::string>{"\\Seen"}));
  EXPECT_EQ(r.command->appends[0].literal, "hello");
}

}  // namespace
}  // namespace mailfort::proto::imap
