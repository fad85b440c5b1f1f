// POP3 sessions driven from memory (src/testing): plaintext logins refused
// before STLS, STLS injection, AUTH PLAIN, and AUTHORIZATION ->
// TRANSACTION -> UPDATE with RETR/TOP/DELE/RSET/QUIT, without sockets. One
// harness serves the whole suite: setting it up hashes a password.
#include "pop3/pop3_session.h"

#include <gtest/gtest.h>

#include "base/base64.h"

#include "server/services.h"
#include "store/mail_store.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

const std::string kUserCmd = std::string("USER ") + SessionHarness::kUser + "\r\n";
const std::string kPassCmd = std::string("PASS ") + SessionHarness::kPassword + "\r\n";

class Pop3SessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { h_ = new SessionHarness(); }
  static void TearDownTestSuite() {
    delete h_;
    h_ = nullptr;
  }

  static std::shared_ptr<Transcript> run(std::vector<std::string> chunks, RunOptions options = {}) {
    auto t = h_->run(pop3::run_session, "pop3", std::move(chunks), options);
    EXPECT_TRUE(h_->finished());
    return t;
  }
  // A session that logs in over STLS, then sends `commands`; the output
  // after the login.
  static std::string logged_in(std::vector<std::string> commands) {
    std::vector<std::string> chunks{"STLS\r\n", kUserCmd, kPassCmd};
    chunks.insert(chunks.end(), commands.begin(), commands.end());
    auto t = run(std::move(chunks));
    std::string out = t->after_tls();
    const std::string ok = "+OK Logged in\r\n";
    auto at = out.find(ok);
    EXPECT_NE(at, std::string::npos) << out;
    return at == std::string::npos ? out : out.substr(at + ok.size());
  }

  static SessionHarness* h_;
};

SessionHarness* Pop3SessionTest::h_ = nullptr;

TEST_F(Pop3SessionTest, PlaintextLoginsRefusedBeforeStls) {
  auto t = run({"CAPA\r\n", kUserCmd, kPassCmd,
                "AUTH PLAIN " + sasl_plain("", SessionHarness::kUser, "x") + "\r\n", "AUTH\r\n", "STAT\r\n",
                "NOOP\r\n", "QUIT\r\n"});
  const std::string refused = "-ERR [SYS/PERM] Use STLS first: no plaintext logins\r\n";
  EXPECT_EQ(t->output,
            "+OK mail.example.test Mailfort POP3 ready\r\n"
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
            "STLS\r\nIMPLEMENTATION Mailfort\r\n.\r\n" +
                refused + refused + refused + refused + "-ERR Log in first\r\n-ERR Log in first\r\n" +
                "+OK Logging out\r\n");
}

// CVE-2011-0411: a command pipelined after STLS in the same packet is
// dropped, never run inside TLS; STLS works once.
TEST_F(Pop3SessionTest, StlsDropsPipelinedPlaintext) {
  auto t = run({"STLS\r\n" + kUserCmd, "CAPA\r\n", "PASS x\r\n", "STLS\r\n"});
  ASSERT_NE(t->tls_started_at, std::string::npos) << t->output;
  EXPECT_EQ(t->before_tls(), "+OK mail.example.test Mailfort POP3 ready\r\n+OK Begin TLS negotiation\r\n");
  EXPECT_EQ(t->after_tls(),
            "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n"
            "USER\r\nSASL PLAIN\r\nIMPLEMENTATION Mailfort\r\n.\r\n"
            "-ERR USER first\r\n"  // the USER before the handshake never counted
            "-ERR STLS not available\r\n");
}

TEST_F(Pop3SessionTest, AuthPlain) {
  RunOptions o;
  o.peer_ip = "192.0.2.30";
  auto t = run({"STLS\r\n", "AUTH\r\n", "AUTH LOGIN\r\n", "AUTH PLAIN\r\n", "*\r\n", "AUTH PLAIN !!!!\r\n",
                "AUTH PLAIN =\r\n",
                "AUTH PLAIN " + sasl_plain("other@example.test", SessionHarness::kUser, "pw") + "\r\n",
                "AUTH PLAIN " + sasl_plain("", SessionHarness::kUser, "wrong") + "\r\n", "AUTH plain\r\n",
                sasl_plain(SessionHarness::kUser, SessionHarness::kUser, SessionHarness::kPassword) + "\r\n",
                "AUTH PLAIN\r\n", "QUIT\r\n"},
               o);
  EXPECT_EQ(t->after_tls(),
            "+OK\r\nPLAIN\r\n.\r\n"
            "-ERR Unsupported mechanism\r\n"
            "+ \r\n-ERR Authentication cancelled\r\n"
            "-ERR [AUTH] Invalid credentials\r\n"
            "-ERR [AUTH] Invalid credentials\r\n"
            "-ERR [AUTH] Invalid credentials\r\n"
            "-ERR [AUTH] Authentication failed\r\n"
            "+ \r\n+OK Logged in\r\n"
            "-ERR Unknown command\r\n"  // logged in: AUTH is over
            "+OK Logging out\r\n");
}

TEST_F(Pop3SessionTest, TransactionAndUpdate) {
  auto& store = *h_->services().store;
  for (std::string body : {"first\r\n", ".leading dot\r\n", "third\r\nline two\r\nline three\r\n"}) {
    ASSERT_TRUE(store.deliver({SessionHarness::kUser}, "Subject: m\r\n\r\n" + body).ok());
  }
  // Sizes: header "Subject: m\r\n\r\n" is 14 bytes.
  auto out = logged_in({"STAT\r\n", "LIST\r\n", "LIST 2\r\n", "UIDL\r\n", "RETR 2\r\n", "TOP 3 1\r\n",
                        "DELE 1\r\n", "DELE 1\r\n", "RETR 1\r\n", "STAT\r\n", "RSET\r\n", "STAT\r\n",
                        "DELE 3\r\n", "LIST 9\r\n", "TOP 2\r\n", "FOO\r\n", "NOOP\r\n", "QUIT\r\n"});
  auto lines = lines_of(out);
  std::vector<std::string> want{"+OK 3 92",
                                "+OK",
                                "1 21",
                                "2 28",
                                "3 43",
                                ".",
                                "+OK 2 28",
                                "+OK",
                                "1 ",
                                "2 ",
                                "3 ",
                                ".",
                                "+OK 28 octets",
                                "Subject: m",
                                "",
                                "..leading dot",
                                ".",
                                "+OK 43 octets",
                                "Subject: m",
                                "",
                                "third",
                                ".",
                                "+OK Marked for deletion",
                                "-ERR No such message",
                                "-ERR No such message",
                                "+OK 2 71",
                                "+OK ",
                                "+OK 3 92",
                                "+OK Marked for deletion",
                                "-ERR No such message",
                                "-ERR Usage: TOP msg lines",
                                "-ERR Unknown command",
                                "+OK ",
                                "+OK Logging out"};
  ASSERT_EQ(lines.size(), want.size()) << out;
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(lines[i].substr(0, want[i].size()), want[i]) << "line " << i << "\n" << out;
  std::string uidl1 = lines[8].substr(2), uidl2 = lines[9].substr(2);
  EXPECT_EQ(uidl1.size(), 16u);

  // UPDATE applied the DELE at QUIT; the numbers close up, UIDLs stay.
  out = logged_in({"STAT\r\n", "UIDL\r\n", "DELE 1\r\n", "DELE 2\r\n"});  // no QUIT: nothing is deleted
  EXPECT_EQ(out, "+OK 2 49\r\n+OK\r\n1 " + uidl1 + "\r\n2 " + uidl2 +
                     "\r\n.\r\n+OK Marked for deletion\r\n+OK Marked for deletion\r\n");
  out = logged_in({"STAT\r\n", "QUIT\r\n"});
  EXPECT_EQ(out, "+OK 2 49\r\n+OK Logging out\r\n");
}

}  // namespace
}  // namespace mailfort::testing
