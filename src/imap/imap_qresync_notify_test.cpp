// QRESYNC and NOTIFY in sessions driven from memory: VANISHED for the
// session's own expunges, SELECT (QRESYNC (...)) in one pipelined run, the
// refusals, and a session with NOTIFY set that still reads pipelined
// commands and ends when the client goes away (the line read while waiting
// for notifications is the next command's).
#include <gtest/gtest.h>

#include "imap/imap_render.h"
#include "imap/imap_session.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

const std::string kLogin =
    std::string("L LOGIN ") + SessionHarness::kUser + " \"" + SessionHarness::kPassword + "\"\r\n";

class ImapQresyncNotify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { harness_ = new SessionHarness("", imap::build_cache); }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  std::string logged_in(std::vector<std::string> chunks) {
    chunks.insert(chunks.begin(), kLogin);
    auto t = harness_->run(imap::run_session, "imaps", std::move(chunks));
    EXPECT_TRUE(harness_->finished()) << t->output;
    return t->output;
  }
  static SessionHarness* harness_;
};
SessionHarness* ImapQresyncNotify::harness_ = nullptr;

bool has_line(const std::string& out, const std::string& line) {
  for (const auto& l : lines_of(out))
    if (l == line) return true;
  return false;
}

const std::string kMessage = "Subject: hi\r\n\r\nbody\r\n";

std::string append(const std::string& tag, const std::string& folder) {
  return tag + " APPEND " + folder + " {" + std::to_string(kMessage.size()) + "+}\r\n" + kMessage + "\r\n";
}

TEST_F(ImapQresyncNotify, VanishedAndSelectResync) {
  auto out = logged_in({"c CREATE Q1\r\n", append("a1", "Q1"), append("a2", "Q1"), append("a3", "Q1"),
                        "e ENABLE QRESYNC\r\n", "s SELECT Q1\r\n", "t UID STORE 2 +FLAGS (\\Deleted)\r\n",
                        "x EXPUNGE\r\n", "u UID STORE 3 +FLAGS (\\Flagged)\r\n", "z LOGOUT\r\n"});
  EXPECT_TRUE(has_line(out, "* ENABLED QRESYNC")) << out;
  EXPECT_TRUE(has_line(out, "* VANISHED 2")) << out;
  EXPECT_EQ(out.find(" EXPUNGE\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("* 2 FETCH (UID 3 FLAGS (\\Recent \\Flagged) MODSEQ ("), std::string::npos) << out;

  // The folder's UIDVALIDITY, from a STATUS in a second session.
  out = logged_in({"s STATUS Q1 (UIDVALIDITY)\r\n", "z LOGOUT\r\n"});
  auto at = out.find("UIDVALIDITY ");
  ASSERT_NE(at, std::string::npos) << out;
  std::string validity = out.substr(at + 12, out.find(')', at) - at - 12);

  out = logged_in({"b SELECT Q1 (QRESYNC (" + validity + " 1))\r\n", "e ENABLE QRESYNC\r\n",
                   "s SELECT Q1 (QRESYNC (" + validity + " 1 1:3))\r\n",
                   "f UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n",
                   "g FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", "z LOGOUT\r\n"});
  EXPECT_TRUE(has_line(out, "b BAD QRESYNC not enabled")) << out;
  auto vanished = out.find("* VANISHED (EARLIER) 2\r\n");
  EXPECT_NE(vanished, std::string::npos) << out;
  EXPECT_LT(vanished, out.find("s OK")) << out;
  EXPECT_NE(out.find("* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ ("), std::string::npos) << out;
  EXPECT_NE(out.find("g BAD VANISHED needs UID FETCH and CHANGEDSINCE"), std::string::npos) << out;
}

TEST_F(ImapQresyncNotify, NotifySetReadsPipelinedCommandsAndEnds) {
  auto out =
      logged_in({"c CREATE N1\r\n", append("a", "N1"),
                 "n NOTIFY SET STATUS (selected (MessageNew (UID) MessageExpunge)) (personal "
                 "(MessageNew MessageExpunge FlagChange MailboxName))\r\n",
                 "p NOOP\r\n", "q NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))\r\n",
                 "r NOTIFY NONE\r\n", "z LOGOUT\r\n"});
  EXPECT_NE(out.find("* STATUS \"N1\" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY "), std::string::npos) << out;
  EXPECT_NE(out.find(" HIGHESTMODSEQ "), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "n OK NOTIFY completed")) << out;
  EXPECT_TRUE(has_line(out, "p OK NOOP completed")) << out;
  EXPECT_NE(out.find("q NO [BADEVENT ("), std::string::npos) << out;
  EXPECT_TRUE(has_line(out, "r OK NOTIFY completed")) << out;
  EXPECT_TRUE(has_line(out, "z OK LOGOUT completed")) << out;

  // The client goes away while the session waits for notifications.
  out = logged_in({"n NOTIFY SET (personal (MessageNew MessageExpunge))\r\n"});
  EXPECT_TRUE(has_line(out, "n OK NOTIFY completed")) << out;
}

}  // namespace
}  // namespace mailfort::testing
