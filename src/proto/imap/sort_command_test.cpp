// SORT, THREAD, CANCELUPDATE and the RFC 5267 RETURN options as parsed.
#include <gtest/gtest.h>

#include "proto/imap/command.h"

namespace mailfort::proto::imap {
namespace {

Command ok(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_TRUE(r.command) << text << ": " << r.error.message;
  return r.command ? *r.command : Command{};
}

void bad(std::string_view text) {
  auto r = parse_command(text);
  EXPECT_FALSE(r.command) << text;
}

TEST(SortCommand, Criteria) {
  auto c = ok("a SORT (REVERSE date subject displayFROM) UTF-8 ALL");
  EXPECT_EQ(c.kind, CommandKind::Sort);
  ASSERT_EQ(c.sort.size(), 3u);
  EXPECT_EQ(c.sort[0].key, SortKey::Date);
  EXPECT_TRUE(c.sort[0].reverse);
  EXPECT_EQ(c.sort[1].key, SortKey::Subject);
  EXPECT_FALSE(c.sort[1].reverse);
  EXPECT_EQ(c.sort[2].key, SortKey::DisplayFrom);
  EXPECT_EQ(c.charset, "UTF-8");
  EXPECT_FALSE(c.search_esearch);
  c = ok("a UID SORT (ARRIVAL) iso-8859-1 SEEN 1:5");
  EXPECT_TRUE(c.uid);
  EXPECT_EQ(c.charset, "ISO-8859-1");  // refused by the session with NO [BADCHARSET]
  EXPECT_EQ(c.search.children.size(), 2u);
  bad("a SORT () UTF-8 ALL");
  bad("a SORT (REVERSE) UTF-8 ALL");
  bad("a SORT (REVERSE REVERSE DATE) UTF-8 ALL");
  bad("a SORT (NAME) UTF-8 ALL");
  bad("a SORT (DATE) UTF-8");
  bad("a SORT (DATE) ALL");
  bad("a SORT DATE UTF-8 ALL");
}

TEST(SortCommand, ReturnOptions) {
  auto c = ok("a SORT RETURN (MIN MAX COUNT ALL) (ARRIVAL) US-ASCII 1:5");
  EXPECT_TRUE(c.search_esearch);
  EXPECT_EQ(c.search_return, (std::vector<std::string>{"MIN", "MAX", "COUNT", "ALL"}));
  c = ok("a SORT RETURN (PARTIAL 4:2 UPDATE) (ARRIVAL) US-ASCII ALL");
  ASSERT_TRUE(c.search_partial);
  EXPECT_EQ(c.search_partial->first, 2u);
  EXPECT_EQ(c.search_partial->second, 4u);
  EXPECT_TRUE(c.search_update);
  bad("a SORT RETURN (PARTIAL 1) (ARRIVAL) US-ASCII ALL");
  bad("a SORT RETURN (PARTIAL 1:*) (ARRIVAL) US-ASCII ALL");
  bad("a SORT RETURN (PARTIAL *:1) (ARRIVAL) US-ASCII ALL");
  bad("a SORT RETURN (PARTIAL 0:1) (ARRIVAL) US-ASCII ALL");
  bad("a SORT RETURN (SAVE) (ARRIVAL) US-ASCII ALL");
}

TEST(SortCommand, SearchContextOptions) {
  auto c = ok("a SEARCH RETURN (UPDATE ALL) OR SEEN SUBJECT s22");
  EXPECT_TRUE(c.search_update);
  EXPECT_EQ(c.search_return, (std::vector<std::string>{"ALL"}));
  c = ok("a UID SEARCH RETURN (PARTIAL 1:10 CONTEXT) ALL");
  ASSERT_TRUE(c.search_partial);
  EXPECT_EQ(c.search_partial->second, 10u);
  EXPECT_TRUE(c.search_return.empty());
  bad("a SEARCH RETURN (PARTIAL) ALL");
  bad("a SEARCH RETURN (PARTIAL 1:) ALL");
}

TEST(SortCommand, Thread) {
  auto c = ok("a THREAD references US-ASCII ALL");
  EXPECT_EQ(c.kind, CommandKind::Thread);
  EXPECT_EQ(c.thread_algorithm, "REFERENCES");
  c = ok("a UID THREAD ORDEREDSUBJECT utf-8 SINCE 1-Feb-1994");
  EXPECT_TRUE(c.uid);
  EXPECT_EQ(c.thread_algorithm, "ORDEREDSUBJECT");
  bad("a THREAD REFS US-ASCII ALL");
  bad("a THREAD REFERENCES US-ASCII");
  bad("a THREAD");
}

TEST(SortCommand, CancelUpdate) {
  auto c = ok("a CANCELUPDATE \"x1\" \"x2\"");
  EXPECT_EQ(c.kind, CommandKind::CancelUpdate);
  EXPECT_EQ(c.args, (std::vector<std::string>{"x1", "x2"}));
  bad("a CANCELUPDATE");
  bad("a UID CANCELUPDATE \"x\"");
}

}  // namespace
}  // namespace mailfort::proto::imap
