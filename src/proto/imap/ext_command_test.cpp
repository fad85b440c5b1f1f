// The grammar of COMPRESS (RFC 4978), UNAUTHENTICATE (RFC 8437), OBJECTID
// (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970).
#include <gtest/gtest.h>

#include "proto/imap/command.h"

namespace mailfort::proto::imap {
namespace {

Command ok(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(r.command) << text << ": " << r.error.message;
  return r.command ? *r.command : Command{};
}

bool bad(std::string_view text) {
  return !parse_command(text).command;
}

TEST(ImapExtCommand, CompressAndUnauthenticate) {
  auto c = ok("a COMPRESS deflate");
  EXPECT_EQ(c.kind, CommandKind::Compress);
  ASSERT_EQ(c.args.size(), 1u);
  EXPECT_EQ(c.args[0], "DEFLATE");
  EXPECT_TRUE(bad("a COMPRESS"));
  EXPECT_TRUE(bad("a COMPRESS DEFLATE x"));
  EXPECT_EQ(ok("a unauthenticate").kind, CommandKind::Unauthenticate);
  EXPECT_TRUE(bad("a UNAUTHENTICATE now"));
  for (auto kind : {CommandKind::Compress, CommandKind::Unauthenticate}) {
    EXPECT_EQ(command_spec(kind).in(SessionState::NotAuthenticated), StateVerdict::LogInFirst);
    EXPECT_EQ(command_spec(kind).in(SessionState::Authenticated), StateVerdict::Run);
    EXPECT_EQ(command_spec(kind).in(SessionState::Selected), StateVerdict::Run);
  }
}

TEST(ImapExtCommand, FetchItems) {
  using K = FetchItem::Kind;
  auto c = ok("a FETCH 1:* (EMAILID THREADID SAVEDATE PREVIEW)");
  ASSERT_EQ(c.fetch.size(), 4u);
  EXPECT_EQ(c.fetch[0].kind, K::EmailId);
  EXPECT_EQ(c.fetch[1].kind, K::ThreadId);
  EXPECT_EQ(c.fetch[2].kind, K::SaveDate);
  EXPECT_EQ(c.fetch[3].kind, K::Preview);
  EXPECT_FALSE(c.fetch[3].lazy);
  c = ok("a UID FETCH 1 (UID PREVIEW (LAZY) FLAGS)");
  ASSERT_EQ(c.fetch.size(), 3u);
  EXPECT_TRUE(c.fetch[1].lazy);
  EXPECT_EQ(c.fetch[2].kind, K::Flags);
  c = ok("a FETCH 1 preview (lazy)");
  ASSERT_EQ(c.fetch.size(), 1u);
  EXPECT_TRUE(c.fetch[0].lazy);
  // Without parentheses around the items, "(...)" may be FETCH's modifiers.
  c = ok("a FETCH 1 PREVIEW (CHANGEDSINCE 5)");
  ASSERT_EQ(c.fetch.size(), 1u);
  EXPECT_FALSE(c.fetch[0].lazy);
  EXPECT_EQ(c.changed_since, 5u);
  EXPECT_TRUE(bad("a FETCH 1 (PREVIEW (EAGER))"));
  EXPECT_TRUE(bad("a FETCH 1 (PREVIEW (LAZY)"));
  EXPECT_TRUE(bad("a FETCH 1 (PREVIEW ())"));
}

TEST(ImapExtCommand, SearchKeys) {
  using Op = SearchKey::Op;
  auto c = ok("a SEARCH EMAILID M1a2b_3-c THREADID T00ff");
  ASSERT_EQ(c.search.children.size(), 2u);
  EXPECT_EQ(c.search.children[0].op, Op::EmailId);
  EXPECT_EQ(c.search.children[0].text, "M1a2b_3-c");
  EXPECT_EQ(c.search.children[1].op, Op::ThreadId);
  EXPECT_TRUE(bad("a SEARCH EMAILID"));
  EXPECT_TRUE(bad("a SEARCH EMAILID a.b"));
  EXPECT_TRUE(bad("a SEARCH EMAILID " + std::string(256, 'a')));
  c = ok(
      "a UID SEARCH SAVEDBEFORE 1-Feb-2024 SAVEDON 2-Feb-2024 SAVEDSINCE \"3-Feb-2024\" SAVEDATESUPPORTED");
  ASSERT_EQ(c.search.children.size(), 4u);
  EXPECT_EQ(c.search.children[0].op, Op::SavedBefore);
  EXPECT_EQ(c.search.children[0].number, *parse_date("1-Feb-2024"));
  EXPECT_EQ(c.search.children[1].op, Op::SavedOn);
  EXPECT_EQ(c.search.children[2].op, Op::SavedSince);
  EXPECT_EQ(c.search.children[2].number, *parse_date("3-Feb-2024"));
  EXPECT_EQ(c.search.children[3].op, Op::SaveDateSupported);
  EXPECT_TRUE(bad("a SEARCH SAVEDBEFORE 30-Feb-2024"));
  EXPECT_TRUE(bad("a SEARCH SAVEDON"));
}

TEST(ImapExtCommand, StatusMailboxId) {
  auto c = ok("a STATUS INBOX (MESSAGES MAILBOXID)");
  EXPECT_TRUE(c.status.mailboxid);
  EXPECT_TRUE(c.status.messages);
  c = ok("a LIST \"\" \"*\" RETURN (STATUS (MAILBOXID))");
  ASSERT_TRUE(c.list.return_status);
  EXPECT_TRUE(c.list.return_status->mailboxid);
}

}  // namespace
}  // namespace mailfort::proto::imap
