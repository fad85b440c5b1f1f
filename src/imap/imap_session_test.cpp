// IMAP sessions driven from memory (src/testing): the state machine
// (commands refused in the wrong state), LOGIN only over TLS, STARTTLS
// injection, pipelining, APPEND and the literal limits, without sockets.
#include "imap/imap_session.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "imap/imap_render.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

const std::string kLogin =
    std::string("L LOGIN ") + SessionHarness::kUser + " \"" + SessionHarness::kPassword + "\"\r\n";

// Small limits, so that the limit tests need small literals: 4 KiB per
// command, 16 KiB per APPENDed message.
const char* kConfig =
    "[imap]\nmax_command_size = 4096\nmax_literal_size = 16384\nmax_append_size = 25000\n";

class ImapSession : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { harness_ = new SessionHarness(kConfig, imap::build_cache); }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }

  // One connection on `listener` ("imap": STARTTLS, "imaps": implicit TLS).
  std::string run(const std::string& listener, std::vector<std::string> chunks, RunOptions options = {}) {
    auto t = harness_->run(imap::run_session, listener, std::move(chunks), options);
    EXPECT_TRUE(harness_->finished()) << t->output;
    transcript_ = t;
    return t->output;
  }
  // A logged-in connection over implicit TLS: LOGIN, then `chunks`.
  std::string logged_in(std::vector<std::string> chunks) {
    chunks.insert(chunks.begin(), kLogin);
    return run("imaps", std::move(chunks));
  }

  static SessionHarness* harness_;
  std::shared_ptr<Transcript> transcript_;
};
SessionHarness* ImapSession::harness_ = nullptr;

// The lines of `out` that start with `prefix`.
std::vector<std::string> lines_with(const std::string& out, const std::string& prefix) {
  std::vector<std::string> found;
  for (const auto& l : lines_of(out))
    if (l.rfind(prefix, 0) == 0) found.push_back(l);
  return found;
}

// The one line starting with `prefix` ("" when there is none or several).
std::string line(const std::string& out, const std::string& prefix) {
  auto found = lines_with(out, prefix);
  return found.size() == 1 ? found[0] : std::string();
}

TEST_F(ImapSession, GreetsAndLogsOut) {
  auto out = run("imaps", {"a CAPABILITY\r\n", "b LOGOUT\r\n", "c NOOP\r\n"});
  auto lines = lines_of(out);
  ASSERT_GE(lines.size(), 5u) << out;
  EXPECT_EQ(lines[0].rfind("* OK [CAPABILITY IMAP4rev1 IMAP4rev2 ", 0), 0u) << out;
  EXPECT_NE(lines[0].find("mail.example.test Mailfort IMAP ready"), std::string::npos) << out;
  EXPECT_EQ(lines[1], "* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN");
  EXPECT_EQ(lines[2], "a OK CAPABILITY completed");
  EXPECT_EQ(lines[3], "* BYE Logging out");
  EXPECT_EQ(lines[4], "b OK LOGOUT completed");
  EXPECT_EQ(lines.size(), 5u) << "nothing after LOGOUT: " << out;
  EXPECT_TRUE(transcript_->closed);
}

TEST_F(ImapSession, LoginRefusedWithoutTlsAllowedAfterStarttls) {
  auto out = run("imap", {"a CAPABILITY\r\n", kLogin, "b AUTHENTICATE PLAIN\r\n", "c STARTTLS\r\n",
                          "d CAPABILITY\r\n", kLogin, "e LOGOUT\r\n"});
  auto before = transcript_->before_tls();
  auto after = transcript_->after_tls();
  EXPECT_EQ(line(before, "* CAPABILITY"),
            "* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE STARTTLS LOGINDISABLED");
  EXPECT_EQ(line(before, "L "), "L NO [PRIVACYREQUIRED] LOGIN requires TLS (use STARTTLS)") << out;
  EXPECT_EQ(line(before, "b "), "b NO [PRIVACYREQUIRED] Authentication requires TLS") << out;
  EXPECT_EQ(line(before, "c "), "c OK Begin TLS negotiation now") << out;
  ASSERT_FALSE(after.empty()) << out;
  EXPECT_EQ(line(after, "* CAPABILITY"),
            "* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN");
  auto ok = line(after, "L ");
  EXPECT_EQ(ok.rfind("L OK [CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE ", 0),
            0u)
      << out;
  EXPECT_NE(ok.find(" APPENDLIMIT=16384"), std::string::npos) << ok;
  EXPECT_NE(ok.find("] Logged in"), std::string::npos) << ok;
  EXPECT_EQ(line(after, "e "), "e OK LOGOUT completed");
}

TEST_F(ImapSession, StarttlsDiscardsPipelinedCommands) {
  // The commands after STARTTLS in the same packet were sent in plaintext:
  // they must be dropped, not run inside TLS (CVE-2011-0411 class).
  auto out = run("imap", {"a STARTTLS\r\nb NOOP\r\n" + kLogin, "c NOOP\r\n", "d LOGOUT\r\n"});
  EXPECT_EQ(line(transcript_->before_tls(), "a "), "a OK Begin TLS negotiation now") << out;
  auto after = transcript_->after_tls();
  EXPECT_TRUE(lines_with(out, "b ").empty()) << out;
  EXPECT_TRUE(lines_with(out, "L ").empty()) << out;
  EXPECT_EQ(line(after, "c "), "c OK NOOP completed") << out;
  EXPECT_EQ(line(after, "d "), "d OK LOGOUT completed") << out;
}

TEST_F(ImapSession, StarttlsOnlyOnceAndNotOnImplicitTls) {
  auto out = run("imaps", {"a STARTTLS\r\n", "b LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a "), "a BAD STARTTLS not available") << out;
}

TEST_F(ImapSession, CommandsRefusedBeforeLogin) {
  auto out = run("imaps", {"a SELECT INBOX\r\n", "b FETCH 1 FLAGS\r\n", "c CHECK\r\n",
                           "d ENABLE CONDSTORE\r\n", "e APPEND INBOX {1+}\r\nx\r\n", "f IDLE\r\n",
                           "g CLOSE\r\n", "h NOOP\r\n", "i ID NIL\r\n", "j LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a "), "a BAD Log in first") << out;
  EXPECT_EQ(line(out, "b "), "b BAD Log in first") << out;
  EXPECT_EQ(line(out, "c "), "c BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "d "), "d BAD Log in first") << out;
  EXPECT_EQ(line(out, "e "), "e BAD Log in first") << out;
  EXPECT_EQ(line(out, "f "), "f BAD Log in first") << out;
  EXPECT_EQ(line(out, "g "), "g BAD Log in first") << out;
  EXPECT_EQ(line(out, "h "), "h OK NOOP completed") << out;
  EXPECT_EQ(line(out, "* ID"), "* ID (\"name\" \"Mailfort\")") << out;
  EXPECT_EQ(line(out, "i "), "i OK ID completed") << out;
}

TEST_F(ImapSession, CommandsRefusedInTheWrongStateAfterLogin) {
  auto out = logged_in({"a LOGIN x y\r\n", "b AUTHENTICATE PLAIN\r\n", "c STARTTLS\r\n",
                        "d FETCH 1 FLAGS\r\n", "e UID STORE 1 +FLAGS (\\Seen)\r\n", "f CHECK\r\n",
                        "g EXPUNGE\r\n", "h UNSELECT\r\n", "i SEARCH ALL\r\n", "j NOOP\r\n", "k LOGOUT\r\n"});
  EXPECT_EQ(line(out, "L OK").empty(), false) << out;
  EXPECT_EQ(line(out, "a "), "a BAD Already authenticated") << out;
  EXPECT_EQ(line(out, "b "), "b BAD Already authenticated") << out;
  EXPECT_EQ(line(out, "c "), "c BAD Already authenticated") << out;
  EXPECT_EQ(line(out, "d "), "d BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "e "), "e BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "f "), "f BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "g "), "g BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "h "), "h BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "i "), "i BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "j "), "j OK NOOP completed") << out;
}

TEST_F(ImapSession, SyntaxErrorsAndUnknownCommands) {
  auto out = run("imaps", {"a FROB\r\n", "b UID NOOP\r\n", "c NOOP extra\r\n", "+x NOOP\r\n", "d\r\n",
                           "e FETCH\r\n", "f LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a "), "a BAD Unknown command") << out;
  EXPECT_EQ(line(out, "b "), "b BAD unknown UID command") << out;
  EXPECT_EQ(line(out, "c "), "c BAD syntax error in NOOP arguments") << out;
  EXPECT_EQ(line(out, "* BAD"), "* BAD invalid tag") << out;
  EXPECT_EQ(line(out, "d "), "d BAD missing command") << out;
  // Arguments are checked before the state: a malformed FETCH is BAD for
  // its syntax even before login.
  EXPECT_EQ(line(out, "e "), "e BAD missing argument") << out;
}

TEST_F(ImapSession, AuthenticatePlain) {
  // "\0user@example.test\0password", base64, as a continuation.
  std::string enc = sasl_plain("", SessionHarness::kUser, SessionHarness::kPassword);
  auto out = run("imaps", {"a AUTHENTICATE PLAIN\r\n", "*\r\n", "b AUTHENTICATE PLAIN\r\n", enc + "\r\n",
                           "c LOGOUT\r\n"});
  auto lines = lines_of(out);
  ASSERT_GE(lines.size(), 6u) << out;
  EXPECT_EQ(lines[1], "+ ");
  EXPECT_EQ(lines[2], "a BAD Authentication cancelled");
  EXPECT_EQ(lines[3], "+ ");
  EXPECT_EQ(lines[4].rfind("b OK [CAPABILITY IMAP4rev1 ", 0), 0u) << out;
  // With an initial response (SASL-IR).
  out = run("imaps", {"a AUTHENTICATE PLAIN " + enc + "\r\n", "b AUTHENTICATE X\r\n", "c LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a OK").rfind("a OK [CAPABILITY ", 0), 0u) << out;
  EXPECT_EQ(line(out, "b "), "b BAD Already authenticated") << out;
}

TEST_F(ImapSession, SelectFetchCloseBackToAuthenticated) {
  // A folder of its own, so that message 1 is this test's whatever ran before.
  std::string message = "From: a@example.test\r\nSubject: hi\r\n\r\nbody\r\n";
  auto out = logged_in(
      {"0 CREATE Work\r\n",
       "a APPEND Work (\\Flagged) {" + std::to_string(message.size()) + "+}\r\n" + message + "\r\n",
       "b SELECT Work\r\n", "c FETCH 1 (FLAGS BODY[HEADER.FIELDS (SUBJECT)])\r\n",
       "d UID FETCH 1:* (UID RFC822.SIZE)\r\n", "e CLOSE\r\n", "f FETCH 1 FLAGS\r\n", "g EXAMINE Work\r\n",
       "h STORE 1 +FLAGS (\\Seen)\r\n", "i UNSELECT\r\n", "j DELETE Work\r\n", "k LOGOUT\r\n"});
  EXPECT_EQ(line(out, "0 ").rfind("0 OK [MAILBOXID (F", 0), 0u) << out;  // RFC 8474
  EXPECT_NE(line(out, "0 ").find(")] CREATE completed"), std::string::npos) << out;
  EXPECT_EQ(line(out, "a OK").rfind("a OK [APPENDUID ", 0), 0u) << out;
  EXPECT_NE(line(out, "a OK").find("] APPEND completed"), std::string::npos) << out;
  EXPECT_EQ(line(out, "b "), "b OK [READ-WRITE] SELECT completed") << out;
  EXPECT_EQ(lines_with(out, "* 1 EXISTS").size(), 2u) << out;  // SELECT and EXAMINE
  EXPECT_NE(
      out.find(
          // \Recent: this IMAP4rev1 session is the first to select the folder since the APPEND.
          "* 1 FETCH (FLAGS (\\Recent \\Seen \\Flagged) BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: "
          "hi\r\n\r\n)"),
      std::string::npos)
      << out;
  EXPECT_EQ(line(out, "c "), "c OK FETCH completed") << out;
  auto uid_line = line(out, "* 1 FETCH (UID ");
  EXPECT_NE(uid_line.find(" RFC822.SIZE " + std::to_string(message.size()) + ")"), std::string::npos) << out;
  EXPECT_EQ(line(out, "d "), "d OK UID FETCH completed") << out;
  EXPECT_EQ(line(out, "e "), "e OK CLOSE completed") << out;
  EXPECT_EQ(line(out, "f "), "f BAD No mailbox selected") << out;
  EXPECT_EQ(line(out, "g "), "g OK [READ-ONLY] EXAMINE completed") << out;
  EXPECT_EQ(line(out, "h "), "h NO [READ-ONLY] Mailbox is read-only") << out;
  EXPECT_EQ(line(out, "i "), "i OK UNSELECT completed") << out;
  EXPECT_EQ(line(out, "j "), "j OK DELETE completed") << out;
  EXPECT_EQ(line(out, "k "), "k OK LOGOUT completed") << out;
}

TEST_F(ImapSession, PipelinedCommandsAnsweredInOrder) {
  auto out = run("imaps", {kLogin + "a NOOP\r\nb SELECT INBOX\r\nc CHECK\r\nd NAMESPACE\r\ne LOGOUT\r\n"});
  std::vector<std::string> tagged;
  for (const auto& l : lines_of(out))
    if (!l.empty() && l[0] != '*') tagged.push_back(l.substr(0, l.find(' ')));
  EXPECT_EQ(tagged, (std::vector<std::string>{"L", "a", "b", "c", "d", "e"})) << out;
  EXPECT_EQ(line(out, "c "), "c OK CHECK completed") << out;
  EXPECT_EQ(line(out, "* NAMESPACE"), "* NAMESPACE ((\"\" \"/\")) NIL NIL") << out;
}

TEST_F(ImapSession, AppendWithSynchronizingLiteral) {
  std::string message = "Subject: sync\r\n\r\nx\r\n";
  auto out =
      logged_in({"a APPEND Notes {" + std::to_string(message.size()) + "}\r\n", message + "\r\n",
                 "b CREATE Notes\r\n", "c APPEND Notes {" + std::to_string(message.size()) + "}\r\n",
                 message + "\r\n", "d STATUS Notes (MESSAGES)\r\n", "e DELETE Notes\r\n", "f LOGOUT\r\n"});
  auto lines = lines_of(out);
  // The continuation comes before the literal is read.
  auto at = [&](const std::string& prefix) {
    for (std::size_t i = 0; i < lines.size(); ++i)
      if (lines[i].rfind(prefix, 0) == 0) return i;
    return lines.size();
  };
  EXPECT_EQ(lines[at("L OK") + 1], "+ OK") << out;
  EXPECT_EQ(line(out, "a "), "a NO [TRYCREATE] Mailbox does not exist") << out;
  EXPECT_EQ(lines[at("b OK") + 1], "+ OK") << out;
  EXPECT_EQ(line(out, "c OK").rfind("c OK [APPENDUID ", 0), 0u) << out;
  EXPECT_EQ(line(out, "* STATUS"), "* STATUS \"Notes\" (MESSAGES 1)") << out;
  EXPECT_EQ(line(out, "e "), "e OK DELETE completed") << out;
}

TEST_F(ImapSession, LiteralLimitsBeforeLogin) {
  // Before login every literal counts against the command limit (here
  // 4 KiB): a synchronising one is refused with NO and the session goes
  // on; a LITERAL+ one cannot be refused in sync, so BYE.
  auto out = run("imaps", {"a LOGIN {5000}\r\n", "b NOOP\r\n", "c LOGIN {5000+}\r\n", "d NOOP\r\n"});
  EXPECT_EQ(line(out, "a "), "a NO [TOOBIG] Literal too large") << out;
  EXPECT_TRUE(lines_with(out, "+ ").empty()) << out;
  EXPECT_EQ(line(out, "b "), "b OK NOOP completed") << out;
  EXPECT_EQ(line(out, "* BYE"), "* BYE [TOOBIG] Literal too large") << out;
  EXPECT_TRUE(lines_with(out, "d ").empty()) << out;
  // Nor may an APPEND message exceed it before login (APPEND is refused
  // then anyway, but only after it is read).
  out = run("imaps", {"a APPEND INBOX {5000}\r\n", "b LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a "), "a NO [TOOBIG] Literal too large") << out;
}

TEST_F(ImapSession, LiteralLimitsAfterLogin) {
  std::string big(10000, 'x');  // over max_command_size, under max_literal_size
  auto out = logged_in({"a APPEND INBOX {10000}\r\n", big + "\r\n", "b APPEND INBOX {20000}\r\n",
                        "c SELECT {5000}\r\n", "d APPEND INBOX {10000+}\r\n" + big + " {16000}\r\n",
                        "e NOOP\r\n", "g APPEND INBOX {10000+}\r\n" + big + " {10000}\r\n", big + "\r\n",
                        "f LOGOUT\r\n"});
  EXPECT_EQ(line(out, "a OK").rfind("a OK [APPENDUID ", 0), 0u) << out;
  EXPECT_EQ(line(out, "b "), "b NO [TOOBIG] Message too large") << out;
  EXPECT_EQ(line(out, "c "), "c NO [TOOBIG] Literal too large") << out;
  // A MULTIAPPEND over max_append_size together is refused when the
  // literal that passes it is announced; one within it is stored.
  EXPECT_EQ(line(out, "d "), "d NO [TOOBIG] Messages too large together") << out;
  EXPECT_EQ(line(out, "e "), "e OK NOOP completed") << out;
  EXPECT_EQ(line(out, "g OK").rfind("g OK [APPENDUID ", 0), 0u) << out;
  EXPECT_NE(line(out, "g OK").find(" 2:3] "), std::string::npos) << out;
  // The same as LITERAL+: BYE.
  out = logged_in({"a APPEND INBOX {20000+}\r\n", "b NOOP\r\n"});
  EXPECT_EQ(line(out, "* BYE"), "* BYE [TOOBIG] Message too large") << out;
  EXPECT_TRUE(lines_with(out, "b ").empty()) << out;
}

TEST_F(ImapSession, OverlongLinesAndCommands) {
  // A line over the line limit (64 KiB for IMAP) gets its command's tag.
  auto out = run("imaps", {"a NOOP " + std::string(70000, 'x') + "\r\n", "b NOOP\n", "c NOOP\r\n",
                           "d NOOP " + std::string(5000, 'y') + "\r\n", "e NOOP\r\n"});
  EXPECT_EQ(line(out, "a "), "a BAD [TOOBIG] Command line too long") << out;
  EXPECT_EQ(line(out, "b "), "b BAD Lines must end with CRLF") << out;
  EXPECT_EQ(line(out, "c "), "c OK NOOP completed") << out;
  // A line within the line limit but over the command limit: the session
  // cannot resynchronise, so BYE.
  EXPECT_EQ(line(out, "* BAD"), "* BAD [TOOBIG] Command too long") << out;
  EXPECT_EQ(line(out, "* BYE"), "* BYE Command too long") << out;
  EXPECT_TRUE(lines_with(out, "e ").empty()) << out;
}

TEST_F(ImapSession, IdleEndsWithDone) {
  auto out =
      logged_in({"a SELECT INBOX\r\n", "b IDLE\r\n", "DONE\r\n", "c IDLE\r\n", "nope\r\n", "d LOGOUT\r\n"});
  auto lines = lines_of(out);
  EXPECT_FALSE(lines_with(out, "+ idling").empty()) << out;
  EXPECT_EQ(line(out, "b "), "b OK IDLE terminated") << out;
  EXPECT_EQ(line(out, "c "), "c BAD Expected DONE") << out;
  EXPECT_EQ(line(out, "d "), "d OK LOGOUT completed") << out;
}

// A LOGIN whose mailbox cannot be opened gives its account+IP slot back:
// with one slot, a second attempt meets the same failure, not [LIMIT].
TEST(ImapSessionSlots, FailedMailboxOpenFreesTheSlot) {
  SessionHarness h("[imap]\nmax_connections_per_user_ip = 1\n", imap::build_cache);
  // A file where the account's mailbox directory belongs: opening fails.
  std::filesystem::create_directories(h.dir() + "/data/mailboxes/example.test");
  std::ofstream(h.dir() + "/data/mailboxes/example.test/user") << "not a directory";
  auto t =
      h.run(imap::run_session, "imaps", {"a" + kLogin.substr(1), "b" + kLogin.substr(1), "c LOGOUT\r\n"});
  ASSERT_TRUE(h.finished()) << t->output;
  EXPECT_EQ(line(t->output, "a ").rfind("a NO [UNAVAILABLE]", 0), 0u) << t->output;
  EXPECT_EQ(line(t->output, "b ").rfind("b NO [UNAVAILABLE]", 0), 0u) << t->output;
}

}  // namespace
}  // namespace mailfort::testing
