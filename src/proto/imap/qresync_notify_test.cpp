// The arguments of QRESYNC (SELECT/EXAMINE (QRESYNC (...)), UID FETCH
// (CHANGEDSINCE n VANISHED)) and NOTIFY (RFC 7162, RFC 5465).
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/command.h"

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
  return r.error.message;
}

TEST(ImapQresync, SelectParameters) {
  auto c = ok("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))");
  ASSERT_TRUE(c.qresync);
  EXPECT_EQ(c.qresync->uidvalidity, 67890007u);
  EXPECT_EQ(c.qresync->modseq, 20050715194045000u);
  ASSERT_TRUE(c.qresync->known_uids);
  EXPECT_EQ(c.qresync->known_uids->ranges.size(), 3u);
  EXPECT_FALSE(c.qresync->match_seqs);

  c = ok("a EXAMINE INBOX (QRESYNC (1 2))");
  ASSERT_TRUE(c.qresync);
  EXPECT_FALSE(c.qresync->known_uids);

  c = ok("a SELECT INBOX (QRESYNC (1 2 1:100 (1,10,20 5,50,200)))");
  ASSERT_TRUE(c.qresync && c.qresync->known_uids && c.qresync->match_seqs && c.qresync->match_uids);
  EXPECT_EQ(c.qresync->match_seqs->ranges.size(), 3u);
  EXPECT_EQ(c.qresync->match_uids->ranges[2].lo, 200u);

  c = ok("a SELECT INBOX (QRESYNC (1 2 (1 5)))");  // seq-match-data without known-uids
  ASSERT_TRUE(c.qresync && c.qresync->match_seqs && !c.qresync->known_uids);

  c = ok("a SELECT INBOX (CONDSTORE QRESYNC (1 0))");
  EXPECT_TRUE(c.condstore);
  ASSERT_TRUE(c.qresync);

  bad("a SELECT INBOX (QRESYNC)");
  bad("a SELECT INBOX (QRESYNC ())");
  bad("a SELECT INBOX (QRESYNC (0 5))");  // uidvalidity is nz-number
  bad("a SELECT INBOX (QRESYNC (1))");
  bad("a SELECT INBOX (QRESYNC (1 x))");
  bad("a SELECT INBOX (QRESYNC (1 2 (1 5))");
  bad("a SELECT INBOX (QRESYNC (1 2 (1)))");
  bad("a SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))");
  bad("a SELECT INBOX (QRESYNC (1 99999999999999999999))");
}

TEST(ImapQresync, FetchVanishedNeedsUidAndChangedSince) {
  auto c = ok("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)");
  EXPECT_TRUE(c.vanished);
  EXPECT_EQ(c.changed_since.value_or(0), 12345u);
  EXPECT_EQ(bad("a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)"),
            "VANISHED needs UID FETCH and CHANGEDSINCE");
  EXPECT_EQ(bad("a UID FETCH 1:* (FLAGS) (VANISHED)"), "VANISHED needs UID FETCH and CHANGEDSINCE");
}

TEST(ImapNotify, NoneAndSet) {
  auto c = ok("a NOTIFY NONE");
  EXPECT_EQ(c.name(), "NOTIFY");
  EXPECT_FALSE(c.notify.set);

  c =
      ok("a NOTIFY SET (selected (MessageNew (UID FLAGS BODY.PEEK[HEADER]) MessageExpunge FlagChange)) "
         "(subtree (Lists \"Other Folder\") (MessageNew MessageExpunge)) (personal (MailboxName "
         "SubscriptionChange))");
  ASSERT_TRUE(c.notify.set);
  EXPECT_FALSE(c.notify.status);
  ASSERT_EQ(c.notify.filters.size(), 3u);
  auto& sel = c.notify.filters[0];
  EXPECT_EQ(sel.kind, NotifyFilter::Kind::Selected);
  EXPECT_EQ(sel.events, kNotifyMessageNew | kNotifyMessageExpunge | kNotifyFlagChange);
  ASSERT_EQ(sel.fetch.size(), 3u);
  EXPECT_EQ(sel.fetch[2].kind, FetchItem::Kind::BodySection);
  auto& sub = c.notify.filters[1];
  EXPECT_EQ(sub.kind, NotifyFilter::Kind::Subtree);
  ASSERT_EQ(sub.mailboxes.size(), 2u);
  EXPECT_EQ(sub.mailboxes[1], "Other Folder");
  EXPECT_EQ(c.notify.filters[2].events, kNotifyMailboxName | kNotifySubscriptionChange);

  c = ok("a notify set status (mailboxes box2 (MessageExpunge))");
  EXPECT_TRUE(c.notify.status);
  ASSERT_EQ(c.notify.filters.size(), 1u);
  EXPECT_EQ(c.notify.filters[0].kind, NotifyFilter::Kind::Mailboxes);
  EXPECT_EQ(c.notify.filters[0].mailboxes[0], "box2");
  EXPECT_EQ(c.notify.filters[0].events, kNotifyMessageExpunge);

  c =
      ok("a NOTIFY SET (selected-delayed NONE) (inboxes (AnnotationChange)) (subscribed "
         "(ServerMetadataChange))");
  EXPECT_EQ(c.notify.filters[0].kind, NotifyFilter::Kind::SelectedDelayed);
  EXPECT_EQ(c.notify.filters[0].events, 0u);
  EXPECT_EQ(c.notify.filters[1].events, kNotifyAnnotationChange);
  EXPECT_EQ(c.notify.filters[2].events, kNotifyServerMetadataChange);
}

TEST(ImapNotify, Refused) {
  bad("a NOTIFY");
  bad("a NOTIFY SET");
  bad("a NOTIFY SET STATUS");
  bad("a NOTIFY GET (selected (MessageNew MessageExpunge))");
  bad("a NOTIFY SET (selected ())");
  bad("a NOTIFY SET (selected (NoSuchEvent))");
  bad("a NOTIFY SET (elsewhere (MessageNew MessageExpunge))");
  bad("a NOTIFY SET (mailboxes (MessageNew))");  // no mailbox
  bad("a NOTIFY SET (mailboxes () (MessageNew))");
  bad("a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))");  // fetch-att only for selected
  EXPECT_EQ(bad("a NOTIFY SET (selected (MessageNew))"), "MessageNew and MessageExpunge must be together");
  EXPECT_EQ(bad("a NOTIFY SET (selected (FlagChange))"), "FlagChange requires MessageNew and MessageExpunge");
  EXPECT_EQ(bad("a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed NONE)"),
            "Duplicate selected filter");
  bad("a NOTIFY SET (selected (MessageNew (NOSUCH) MessageExpunge))");
  bad("a NOTIFY SET (selected (MessageNew () MessageExpunge))");
}

}  // namespace
}  // namespace mailfort::proto::imap
