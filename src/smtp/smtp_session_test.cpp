// SMTP sessions driven from memory (src/testing): pipelining, smuggling,
// STARTTLS injection, AUTH, BDAT and the command state machine, without
// sockets. One harness (services, temp dir, the test user) serves the whole
// suite: setting it up hashes a password.
#include "smtp/smtp_session.h"

#include <gtest/gtest.h>

#include "base/base64.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "directory/directory.h"
#include "server/services.h"
#include "store/mail_store.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

namespace fs = std::filesystem;

// The replies after the greeting and the EHLO answer, one per line.
std::vector<std::string> after_ehlo(const std::string& out) {
  auto lines = lines_of(out);
  std::vector<std::string> rest;
  bool in_ehlo = false, seen = false;
  for (const auto& l : lines) {
    if (!seen && l.rfind("250-", 0) == 0) in_ehlo = true;
    if (in_ehlo && l.rfind("250 ", 0) == 0) {
      in_ehlo = false;
      seen = true;
      continue;
    }
    if (seen && !in_ehlo) rest.push_back(l);
  }
  return rest;
}

bool has_line(const std::string& out, const std::string& prefix) {
  for (const auto& l : lines_of(out))
    if (l.rfind(prefix, 0) == 0) return true;
  return false;
}

// An EHLO keyword, in the middle or on the last line of the reply.
bool has_capability(const std::string& out, const std::string& keyword) {
  return has_line(out, "250-" + keyword) || has_line(out, "250 " + keyword);
}

// Each reply line starts with its prefix, in order, and there are no others.
void expect_replies(const std::vector<std::string>& got, const std::vector<std::string>& want,
                    const std::string& context) {
  ASSERT_EQ(got.size(), want.size()) << context;
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_EQ(got[i].substr(0, want[i].size()), want[i]) << "reply " << i << "\n" << context;
}

constexpr const char* kEhlo = "EHLO client.example.org\r\n";
constexpr const char* kMail = "MAIL FROM:<a@example.org>\r\n";
constexpr const char* kRcpt = "RCPT TO:<user@example.test>\r\n";

class SmtpSessionTest : public ::testing::Test {
 protected:
  // Inbound authentication needs DNS (integration tests cover it); these
  // test the engine.
  static void SetUpTestSuite() {
    h_ = new SessionHarness(
        "[smtp]\nmax_message_size = 10000\n[inbound]\nspf = false\ndkim = false\ndmarc = false\narc = "
        "false\n");
  }
  static void TearDownTestSuite() {
    delete h_;
    h_ = nullptr;
  }

  static std::shared_ptr<Transcript> run(const std::string& listener, std::vector<std::string> chunks,
                                         RunOptions options = {}) {
    auto t = h_->run(smtp::run_session, listener, std::move(chunks), options);
    EXPECT_TRUE(h_->finished());
    return t;
  }

  // The messages in user@example.test's INBOX by file name.
  static std::map<std::string, std::string> stored() {
    std::map<std::string, std::string> texts;
    std::string maildir = h_->services().store->maildir_of(SessionHarness::kUser);
    for (const char* sub : {"/new", "/cur"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(maildir + sub, ec)) {
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        texts[e.path().string()] = ss.str();
      }
    }
    return texts;
  }
  // The messages stored since `before` was taken.
  static std::vector<std::string> added(const std::map<std::string, std::string>& before) {
    std::vector<std::string> out;
    for (const auto& [name, text] : stored())
      if (!before.count(name)) out.push_back(text);
    return out;
  }

  static SessionHarness* h_;
};

SessionHarness* SmtpSessionTest::h_ = nullptr;

TEST_F(SmtpSessionTest, GreetsAndQuits) {
  auto t = run("mx", {kEhlo, "QUIT\r\n"});
  auto lines = lines_of(t->output);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "220 mail.example.test ESMTP Mailfort") << t->output;
  for (const char* cap : {"250-PIPELINING", "250-SIZE 10000", "250-8BITMIME", "250-SMTPUTF8",
                          "250-ENHANCEDSTATUSCODES", "250 CHUNKING"})
    EXPECT_TRUE(has_line(t->output, cap)) << cap << "\n" << t->output;
  EXPECT_FALSE(has_capability(t->output, "STARTTLS")) << t->output;  // the mx listener has tls = "none"
  EXPECT_FALSE(has_capability(t->output, "AUTH")) << t->output;
  EXPECT_EQ(lines.back(), "221 2.0.0 Bye") << t->output;
}

TEST_F(SmtpSessionTest, MessageToLocalUserIsStored) {
  auto before = stored();
  auto t = run("mx",
               {kEhlo, kMail, kRcpt, "DATA\r\n", "Subject: hello\r\n\r\n..dot\r\nbody\r\n.\r\n", "QUIT\r\n"});
  expect_replies(after_ehlo(t->output),
                 {"250 2.1.0 Ok", "250 2.1.5 Ok", "354 ", "250 2.0.0 Ok: queued as ", "221"}, t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  const std::string& m = msgs.back();
  EXPECT_EQ(m.rfind("Received: from client.example.org ([192.0.2.10])\r\n\tby mail.example.test (Mailfort) "
                    "with ESMTP id ",
                    0),
            0u)
      << m;
  EXPECT_NE(m.find("\r\n\tfor <user@example.test>; "), std::string::npos) << m;
  EXPECT_NE(m.find("\r\nSubject: hello\r\n\r\n.dot\r\nbody\r\n"), std::string::npos) << m;  // unstuffed
}

// RFC 2920: after EHLO a client may send MAIL, RCPT and DATA in one packet;
// the message and QUIT follow in the next.
TEST_F(SmtpSessionTest, PipelinedTransaction) {
  auto before = stored();
  auto t = run("mx", {kEhlo,
                      "MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\n"
                      "RCPT TO:<nobody@example.test>\r\nDATA\r\n",
                      "Subject: p\r\n\r\npipelined\r\n.\r\nQUIT\r\n"});
  expect_replies(after_ehlo(t->output),
                 {"250 2.1.0 Ok", "250 2.1.5 Ok",
                  "550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown", "354 ",
                  "250 2.0.0 Ok: queued as ", "221 2.0.0 Bye"},
                 t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs.back().find("\r\n\r\npipelined\r\n"), std::string::npos);
}

// EHLO and DATA change the session's state: a command after them in the
// same packet is a protocol violation (554 and close), as is pipelining
// before EHLO announced it. Nothing of such a transaction is stored.
TEST_F(SmtpSessionTest, PipeliningPastEhloOrDataOrBeforeEhloIsRefused) {
  auto before = stored();
  auto t =
      run("mx", {"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\n"
                 "DATA\r\nSubject: x\r\n\r\nwhole\r\n.\r\nQUIT\r\n"});
  expect_replies(lines_of(t->output),
                 {"220 ", "554 5.5.0 Error: SMTP protocol synchronization; improper command pipelining"},
                 t->output);

  t = run("mx", {kEhlo,
                 "MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n"
                 "Subject: early\r\n\r\ntoo soon\r\n.\r\n"});
  expect_replies(after_ehlo(t->output), {"250 2.1.0", "250 2.1.5", "554 5.5.0"}, t->output);

  t = run("mx",
          {"HELO client.example.org\r\n", "MAIL FROM:<a@example.org>\r\nRCPT TO:<user@example.test>\r\n"});
  expect_replies(lines_of(t->output), {"220 ", "250 mail.example.test", "554 5.5.0"}, t->output);
  EXPECT_TRUE(added(before).empty());
}

// Commands and the message cut at awkward places (inside the verb, between
// CR and LF, around the final dot) read as if sent whole.
TEST_F(SmtpSessionTest, CommandsSplitAcrossReads) {
  auto before = stored();
  auto t = run("mx", {"EH", "LO client.exa", "mple.org\r", "\n", "MAIL FROM:<a@exa", "mple.org>\r\nRC",
                      "PT TO:<user@example.test>\r", "\nDA", "TA\r\n", "Subject: split\r\n\r\nbody\r", "\n.",
                      "\r", "\n", "QU", "IT\r\n"});
  expect_replies(after_ehlo(t->output), {"250 2.1.0", "250 2.1.5", "354 ", "250 2.0.0 Ok: queued as ", "221"},
                 t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs.back().find("\r\nSubject: split\r\n\r\nbody\r\n"), std::string::npos) << msgs.back();
}

// SMTP smuggling (CVE-2023-51764 class): only CRLF.CRLF ends the data. A
// bare LF or CR before the dot keeps the "smuggled" commands inside the
// message, which is refused as a whole; the session stays in sync.
TEST_F(SmtpSessionTest, SmugglingVariantsStayInsideARejectedMessage) {
  auto before = stored();
  for (std::string fake_end : {"\n.\n", "\n.\r\n", "\r.\r\n", "\r\n.\n", "\r\n.\r"}) {
    auto t = run("mx", {kEhlo, kMail, kRcpt, "DATA\r\n",
                        "Subject: x\r\n\r\nhello" + fake_end +
                            "MAIL FROM:<evil@example.org>\r\nRCPT TO:<user@example.test>\r\n"
                            "DATA\r\nSubject: smuggled\r\n\r\nevil\r\n.\r\n",
                        "NOOP\r\n"});
    expect_replies(after_ehlo(t->output),
                   {"250 2.1.0", "250 2.1.5", "354 ",
                    "550 5.6.0 Message contains bare CR or LF; lines must end with CRLF", "250 2.0.0 Ok"},
                   t->output);
  }
  EXPECT_TRUE(added(before).empty());
}

TEST_F(SmtpSessionTest, BareCrOrLfInCommandsIsRefused) {
  auto t = run("mx", {kEhlo, "NOOP\rMAIL FROM:<a@example.org>\r\n", "NOOP\n", "NOOP\r\n"});
  expect_replies(
      after_ehlo(t->output),
      {"500 5.5.2 Error: bare CR or LF received; lines must end with CRLF", "500 5.5.2", "250 2.0.0 Ok"},
      t->output);
}

// CVE-2011-0411: plaintext pipelined after STARTTLS is dropped, never run
// inside the TLS session.
TEST_F(SmtpSessionTest, StartTlsDropsPipelinedPlaintext) {
  auto t = run("submission", {kEhlo, "STARTTLS\r\nRSET\r\nMAIL FROM:<user@example.test>\r\n", "NOOP\r\n"});
  ASSERT_NE(t->tls_started_at, std::string::npos) << t->output;
  EXPECT_EQ(lines_of(t->before_tls()).back(), "220 2.0.0 Ready to start TLS");
  EXPECT_EQ(t->after_tls(), "250 2.0.0 Ok\r\n");  // no replies to the injected RSET and MAIL
}

TEST_F(SmtpSessionTest, SubmissionOffersAuthOnlyAfterTlsAndOnlyOneStartTls) {
  auto t = run("submission", {kEhlo, "AUTH PLAIN " + sasl_plain("", "user@example.test", "x") + "\r\n",
                              "MAIL FROM:<user@example.test>\r\n", "STARTTLS\r\n", kEhlo, "STARTTLS\r\n"});
  std::string before = t->before_tls(), after = t->after_tls();
  EXPECT_TRUE(has_capability(before, "STARTTLS")) << before;
  EXPECT_FALSE(has_capability(before, "AUTH")) << before;
  expect_replies(after_ehlo(before),
                 {"530 5.7.0 Must issue a STARTTLS command first",
                  "530 5.7.0 Must issue a STARTTLS command first", "220 2.0.0 Ready to start TLS"},
                 before);
  EXPECT_TRUE(has_capability(after, "AUTH PLAIN LOGIN")) << after;
  EXPECT_FALSE(has_capability(after, "STARTTLS")) << after;
  expect_replies(after_ehlo(after), {"503 5.5.1 Error: TLS already active"}, after);
}

TEST_F(SmtpSessionTest, CommandOrder) {
  auto t = run(
      "mx", {"MAIL FROM:<a@example.org>\r\n", "EHLO\r\n", kEhlo, kRcpt, "DATA\r\n", kMail, kMail, "DATA\r\n",
             "RSET\r\n", kRcpt, "BDAT 0 LAST\r\n", "VRFY user\r\n", "HELP\r\n", "NOOP\r\n", "QUIT\r\n"});
  auto lines = lines_of(t->output);
  ASSERT_GE(lines.size(), 3u) << t->output;
  EXPECT_EQ(lines[1], "503 5.5.1 Error: send HELO/EHLO first");
  EXPECT_EQ(lines[2], "501 5.5.4 Syntax: EHLO hostname or address literal");
  expect_replies(after_ehlo(t->output),
                 {"503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need MAIL command", "250 2.1.0 Ok",
                  "503 5.5.1 Error: nested MAIL command", "554 5.5.1 Error: no valid recipients",
                  "250 2.0.0 Ok", "503 5.5.1 Error: need MAIL command", "503 5.5.1 Error: need MAIL command",
                  "502 5.5.1 Error: command disabled", "214 2.0.0", "250 2.0.0 Ok", "221 2.0.0 Bye"},
                 t->output);
}

TEST_F(SmtpSessionTest, HeloIsNotEhlo) {
  auto before = stored();
  auto t =
      run("mx", {"HELO client.example.org\r\n", kMail, kRcpt, "DATA\r\n", "Subject: x\r\n\r\nhi\r\n.\r\n"});
  expect_replies(
      lines_of(t->output),
      {"220 ", "250 mail.example.test", "250 2.1.0", "250 2.1.5", "354 ", "250 2.0.0 Ok: queued as "},
      t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs.back().find(" with SMTP id "), std::string::npos) << msgs.back();
  t = run("submissions", {"HELO client.example.org\r\n", "AUTH PLAIN " + sasl_plain("", "u", "p") + "\r\n"});
  expect_replies(lines_of(t->output), {"220 ", "250 mail.example.test", "503 5.5.1 Error: send EHLO first"},
                 t->output);
}

TEST_F(SmtpSessionTest, EarlyTalkerOnMxIsRefused) {
  RunOptions o;
  o.early_talker = true;
  auto t = run("mx", {kEhlo, "QUIT\r\n"}, o);
  EXPECT_EQ(t->output, "554 5.5.0 Error: SMTP protocol synchronization; talked before the greeting\r\n");
}

TEST_F(SmtpSessionTest, TooManyProtocolErrorsEndTheSession) {
  std::string chunk;
  for (int i = 0; i < 15; ++i) chunk += "FOO\r\n";
  auto t = run("mx", {chunk, "NOOP\r\n"});
  auto lines = lines_of(t->output);
  ASSERT_EQ(lines.size(), 12u) << t->output;
  for (std::size_t i = 1; i <= 10; ++i) EXPECT_EQ(lines[i], "500 5.5.2 Error: command not recognized");
  EXPECT_EQ(lines[11], "421 4.7.0 mail.example.test Error: too many errors");
}

TEST_F(SmtpSessionTest, MailAndRcptParameters) {
  auto t =
      run("mx", {kEhlo, "MAIL FROM:<a@example.org> SIZE=20000\r\n", "MAIL FROM:<a@example.org> SIZE=1x\r\n",
                 "MAIL FROM:<a@example.org> RET=HDRS\r\n", "MAIL FROM:<a@example.org> BODY=BINARYMIME\r\n",
                 "MAIL FROM:<\xc3\xa9@example.org>\r\n", "MAIL FROM:<a@example.org\r\n", "MAIL FROM:<>\r\n",
                 "RSET\r\n", "MAIL FROM:<\xc3\xa9@example.org> SIZE=100 BODY=8BITMIME SMTPUTF8 AUTH=<>\r\n",
                 "RCPT TO:<user@example.test> NOTIFY=NEVER\r\n", "RCPT TO:<>\r\n",
                 "RCPT TO:<\xc3\xa9t\xc3\xa9@example.test>\r\n", "QUIT\r\n"});
  expect_replies(
      after_ehlo(t->output),
      {"552 5.3.4 Message size exceeds fixed maximum message size", "501 5.5.4 Error: bad SIZE value",
       "555 5.5.4 Error: unsupported MAIL parameter RET", "555 5.5.4 Error: unsupported MAIL parameter BODY",
       "553 5.6.7 Error: non-ASCII address requires SMTPUTF8", "501 5.", "250 2.1.0 Ok", "250 2.0.0 Ok",
       "250 2.1.0 Ok", "555 5.5.4 Error: unsupported RCPT parameter NOTIFY",
       "501 5.1.3 Error: bad recipient address syntax", "550 5.1.1 ", "221"},
      t->output);
}

TEST_F(SmtpSessionTest, BdatChunksMakeOneMessage) {
  auto before = stored();
  std::string part1 = "Subject: chunks\r\n\r\nfirst ", part2 = "second\r\n";
  auto t = run("mx", {kEhlo, kMail, kRcpt, "BDAT " + std::to_string(part1.size()) + "\r\n" + part1,
                      "BDAT " + std::to_string(part2.size()) + " LAST\r\n" + part2, "BDAT 0 LAST\r\n"});
  expect_replies(
      after_ehlo(t->output),
      {"250 2.1.0", "250 2.1.5", "250 2.0.0 Ok: " + std::to_string(part1.size()) + " octets received",
       "250 2.0.0 Ok: queued as ", "503 5.5.1 Error: need MAIL command"},
      t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs.back().ends_with("\r\n" + part1 + part2)) << msgs.back();
}

TEST_F(SmtpSessionTest, BdatEdgeCases) {
  auto before = stored();
  auto t =
      run("mx", {kEhlo, "BDAT 5 LAST\r\nhello", "NOOP\r\n", kMail, kRcpt, "BDAT 4\r\nabcd", "DATA\r\n",
                 "RCPT TO:<user@example.test>\r\n", "BDAT 20000 LAST\r\n" + std::string(20000, 'z'),
                 "NOOP\r\n", kMail, "BDAT 3\r\nabc", kRcpt, "BDAT 0 LAST\r\n", "BDAT x\r\n", "NOOP\r\n"});
  expect_replies(after_ehlo(t->output),
                 {"503 5.5.1 Error: need MAIL command", "250 2.0.0 Ok", "250 2.1.0", "250 2.1.5",
                  "250 2.0.0 Ok: 4 octets received", "503 5.5.1 Error: DATA not allowed after BDAT",
                  "503 5.5.1 Error: RCPT not allowed after BDAT",
                  "552 5.3.4 Message size exceeds fixed maximum message size", "250 2.0.0 Ok", "250 2.1.0",
                  "554 5.5.1 Error: no valid recipients", "250 2.1.5", "250 2.0.0 Ok: queued as ",
                  "501 5.5.4 Syntax: BDAT size [LAST]"},  // and the session ends: the chunk's end is unknown
                 t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  const std::string& m = msgs.back();  // the empty message: a Received header alone
  EXPECT_EQ(m.find("\r\n", m.find("\tfor <user@example.test>; ")), m.size() - 2) << m;
  t = run("mx", {kEhlo, "BDAT 3 FIRST\r\nabc", "NOOP\r\n"});
  expect_replies(after_ehlo(t->output), {"501 5.5.4 Syntax: BDAT size [LAST]"}, t->output);
}

TEST_F(SmtpSessionTest, DataTooBigIsDrainedAndRefused) {
  auto before = stored();
  std::string big;
  for (int i = 0; i < 20; ++i) big += std::string(998, 'y') + "\r\n";
  auto t = run("mx", {kEhlo, kMail, kRcpt, "DATA\r\n", big, ".\r\n", "NOOP\r\n"});
  expect_replies(after_ehlo(t->output),
                 {"250 2.1.0", "250 2.1.5", "354 ",
                  "552 5.3.4 Message size exceeds fixed maximum message size", "250 2.0.0 Ok"},
                 t->output);
  EXPECT_TRUE(added(before).empty());
}

// AUTH over implicit TLS: PLAIN and LOGIN, initial responses, "*" and the
// malformed cases, each with its reply.
TEST_F(SmtpSessionTest, AuthRefusals) {
  RunOptions o;
  o.peer_ip = "192.0.2.20";
  auto t = run(
      "submissions",
      {kEhlo, "AUTH PLAIN\r\n", "*\r\n", "AUTH PLAIN !!!!\r\n",
       "AUTH PLAIN " + base64::encode("no-nuls") + "\r\n",
       "AUTH PLAIN " + sasl_plain("other@example.test", "user@example.test", "pw") + "\r\n",
       "AUTH CRAM-MD5\r\n", "AUTH PLAIN a b\r\n", "AUTH LOGIN\r\n", "*\r\n", "AUTH LOGIN =\r\n", "QUIT\r\n"},
      o);
  expect_replies(
      after_ehlo(t->output),
      {"334 ", "501 5.0.0 Authentication aborted", "501 5.5.2 Error: invalid base64 data",
       "501 5.5.2 Error: malformed PLAIN response", "535 5.7.8 Error: authorization identity not permitted",
       "504 5.5.4 Error: unsupported authentication mechanism",
       "501 5.5.4 Syntax: AUTH mechanism [initial-response]", "334 VXNlcm5hbWU6",
       "501 5.0.0 Authentication aborted", "501 5.5.2 Error: invalid base64 data", "221"},
      t->output);
  EXPECT_EQ(t->output.find("334 \r\n"), t->output.find("334 ")) << "PLAIN's challenge is empty";
  t = run("submissions",
          {kEhlo, "AUTH LOGIN *\r\n", "AUTH LOGIN\r\n", base64::encode("user@example.test") + "\r\n", "\r\n",
           "AUTH LOGIN " + base64::encode("user@example.test") + "\r\n", "*\r\n", "QUIT\r\n"},
          o);
  expect_replies(
      after_ehlo(t->output),
      {"501 5.5.2 Error: invalid base64 data", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6",
       "501 5.5.2 Error: invalid base64 data", "334 UGFzc3dvcmQ6", "501 5.0.0 Authentication aborted", "221"},
      t->output);
}

TEST_F(SmtpSessionTest, AuthLogsInAndSubmits) {
  RunOptions o;
  o.peer_ip = "192.0.2.21";
  auto before = stored();
  // The wrong password first: the right one is then verified (and cached).
  auto t =
      run("submissions",
          {kEhlo, "AUTH PLAIN " + sasl_plain("", "user@example.test", "wrong") + "\r\n", "AUTH PLAIN\r\n",
           sasl_plain("user@example.test", "user@example.test", SessionHarness::kPassword) + "\r\n",
           "AUTH LOGIN\r\n", "MAIL FROM:<user@example.test>\r\n", kRcpt, "DATA\r\n",
           "From: <user@example.test>\r\nSubject: s\r\n\r\nsubmitted\r\n.\r\n", "QUIT\r\n"},
          o);
  expect_replies(after_ehlo(t->output),
                 {"535 5.7.8 Authentication credentials invalid", "334 ",
                  "235 2.7.0 Authentication successful", "503 5.5.1 Error: already authenticated",
                  "250 2.1.0", "250 2.1.5", "354 ", "250 2.0.0 Ok: queued as ", "221"},
                 t->output);
  t = run("submissions",
          {kEhlo, "AUTH LOGIN " + base64::encode("user@example.test") + "\r\n",
           base64::encode(SessionHarness::kPassword) + "\r\n", "QUIT\r\n"},
          o);
  expect_replies(after_ehlo(t->output), {"334 UGFzc3dvcmQ6", "235 2.7.0 Authentication successful", "221"},
                 t->output);
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs.back().rfind("Received: by mail.example.test (Mailfort) with ESMTPSA id ", 0), 0u)
      << msgs.back();
}

// D8: at end of data the whole message is refused when it would take one
// recipient over quota; the other recipients get nothing either.
TEST_F(SmtpSessionTest, QuotaAtEndOfDataRefusesTheWholeMessage) {
  directory::Account small;
  small.username = "small";
  small.domain = "example.test";
  small.quota_mb = 1;
  ASSERT_TRUE(h_->services().directory->add_account(small, "a long enough password 1").ok());
  ASSERT_TRUE(
      h_->services().store->deliver({"small@example.test"}, std::string(1024 * 1024 - 300, 'f')).ok());
  auto before = stored();
  auto t = run("mx", {kEhlo, kMail, "RCPT TO:<small@example.test>\r\n", kRcpt, "DATA\r\n",
                      "Subject: q\r\n\r\n" + std::string(200, 'x') + "\r\n.\r\n", "QUIT\r\n"});
  expect_replies(after_ehlo(t->output),
                 {"250 2.1.0", "250 2.1.5", "250 2.1.5", "354 ",
                  "552 5.2.2 Mailbox full; message exceeds the recipient's quota", "221"},
                 t->output);
  EXPECT_TRUE(added(before).empty());
}

// Remote recipients of a submitted message go to the queue in the same
// durable transaction as the local copies.
TEST_F(SmtpSessionTest, RemoteRecipientsAreQueued) {
  RunOptions o;
  o.peer_ip = "192.0.2.21";  // logged in before: the password check is cached
  auto before = stored();
  auto t =
      run("submissions",
          {kEhlo, "AUTH PLAIN " + sasl_plain("", "user@example.test", SessionHarness::kPassword) + "\r\n",
           "MAIL FROM:<user@example.test>\r\n", "RCPT TO:<friend@example.org>\r\n", kRcpt, "DATA\r\n",
           "From: <user@example.test>\r\nSubject: out\r\n\r\nto the queue\r\n.\r\n", "QUIT\r\n"},
          o);
  auto replies = after_ehlo(t->output);
  expect_replies(replies,
                 {"235 ", "250 2.1.0", "250 2.1.5", "250 2.1.5", "354 ", "250 2.0.0 Ok: queued as ", "221"},
                 t->output);
  ASSERT_EQ(replies.size(), 7u);
  std::string id = replies[5].substr(std::string("250 2.0.0 Ok: queued as ").size());
  std::ifstream f(h_->config()->data_dir + "/queue/active/" + id, std::ios::binary);
  std::stringstream queued;
  queued << f.rdbuf();
  EXPECT_NE(queued.str().find("friend@example.org"), std::string::npos) << queued.str();
  EXPECT_NE(queued.str().find("\r\n\r\nto the queue\r\n"), std::string::npos) << queued.str();
  auto msgs = added(before);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_NE(msgs.back().find("\r\n\r\nto the queue\r\n"), std::string::npos);
}

}  // namespace
}  // namespace mailfort::testing
