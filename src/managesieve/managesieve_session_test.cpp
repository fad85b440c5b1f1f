// ManageSieve sessions driven from memory (src/testing): the greeting's
// capabilities, plaintext logins refused, STARTTLS injection, AUTHENTICATE
// with a continuation, script commands and the literal bounds.
#include "managesieve/managesieve_session.h"

#include <gtest/gtest.h>

#include "server/services.h"
#include "sieve/sieve_service.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

const std::string kAuth =
    "AUTHENTICATE \"PLAIN\" \"" + sasl_plain("", SessionHarness::kUser, SessionHarness::kPassword) + "\"\r\n";

class ManageSieveSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { h_ = new SessionHarness("[sieve]\nmax_script_size = 200\n"); }
  static void TearDownTestSuite() {
    delete h_;
    h_ = nullptr;
  }
  static std::shared_ptr<Transcript> run(std::vector<std::string> chunks) {
    auto t = h_->run(managesieve::run_session, "sieve", std::move(chunks));
    EXPECT_TRUE(h_->finished());
    return t;
  }
  // Logs in over STARTTLS, sends `commands`; the output after the login.
  static std::string logged_in(std::vector<std::string> commands) {
    std::vector<std::string> chunks{"STARTTLS\r\n", kAuth};
    chunks.insert(chunks.end(), commands.begin(), commands.end());
    auto t = run(std::move(chunks));
    std::string out = t->after_tls();
    const std::string ok = "OK \"Logged in\"\r\n";
    auto at = out.find(ok);
    EXPECT_NE(at, std::string::npos) << out;
    return at == std::string::npos ? out : out.substr(at + ok.size());
  }
  static SessionHarness* h_;
};

SessionHarness* ManageSieveSessionTest::h_ = nullptr;

TEST_F(ManageSieveSessionTest, GreetingAndPlaintextAuthRefused) {
  auto t = run({kAuth, "LISTSCRIPTS\r\n", "LOGOUT\r\n"});
  const std::string& out = t->output;
  EXPECT_EQ(out.rfind("\"IMPLEMENTATION\" \"Mailfort\"\r\n\"SASL\" \"\"\r\n\"SIEVE\" \"", 0), 0u) << out;
  EXPECT_NE(out.find("\"STARTTLS\"\r\n\"MAXREDIRECTS\" \"4\"\r\n\"VERSION\" \"1.0\"\r\n\"UNAUTHENTICATE\"\r\n"
                     "OK \"mail.example.test Mailfort ManageSieve ready\"\r\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("NO (ENCRYPT-NEEDED) \"Use STARTTLS first\"\r\nNO \"Authenticate first\"\r\nOK "),
            std::string::npos)
      << out;
}

TEST_F(ManageSieveSessionTest, StarttlsInjectionDiscardedAndCapabilitiesResent) {
  auto t = run({"STARTTLS\r\n" + kAuth + "LISTSCRIPTS\r\n", "NOOP\r\n", "LOGOUT\r\n"});
  std::string after = t->after_tls();
  EXPECT_EQ(after.rfind("\"IMPLEMENTATION\" \"Mailfort\"\r\n\"SASL\" \"PLAIN LOGIN\"\r\n", 0), 0u) << after;
  EXPECT_EQ(after.find("\"STARTTLS\""), std::string::npos);
  EXPECT_EQ(after.find("Logged in"), std::string::npos) << "the injected AUTHENTICATE ran";
  EXPECT_NE(after.find("OK \"TLS negotiation successful\"\r\nOK \"Done\"\r\nOK \"Logout completed\"\r\n"),
            std::string::npos)
      << after;
}

TEST_F(ManageSieveSessionTest, AuthenticateWithContinuationAndBadPassword) {
  std::string good = sasl_plain("", SessionHarness::kUser, SessionHarness::kPassword);
  std::string bad = sasl_plain("", SessionHarness::kUser, "wrong");
  auto t =
      run({"STARTTLS\r\n", "AUTHENTICATE \"PLAIN\"\r\n", "\"" + bad + "\"\r\n", "AUTHENTICATE \"PLAIN\"\r\n",
           "{" + std::to_string(good.size()) + "+}\r\n" + good + "\r\n", "CAPABILITY\r\n", "LOGOUT\r\n"});
  std::string after = t->after_tls();
  EXPECT_NE(after.find("\"\"\r\nNO \"Authentication failed\"\r\n\"\"\r\nOK \"Logged in\"\r\n"),
            std::string::npos)
      << after;
  EXPECT_NE(after.find("\"OWNER\" \"user@example.test\"\r\n"), std::string::npos) << after;
}

TEST_F(ManageSieveSessionTest, ScriptCommands) {
  std::string out = logged_in({"PUTSCRIPT \"s1\" {7+}\r\nkeep;\r\n\r\n", "SETACTIVE \"s1\"\r\n",
                               "PUTSCRIPT \"s2\" \"stop;\"\r\n", "LISTSCRIPTS\r\n", "GETSCRIPT \"s1\"\r\n",
                               "DELETESCRIPT \"s1\"\r\n", "RENAMESCRIPT \"s1\" \"s3\"\r\n", "LISTSCRIPTS\r\n",
                               "HAVESPACE \"x\" 201\r\n", "NOOP \"t\"\r\n", "SETACTIVE \"\"\r\n",
                               "DELETESCRIPT \"s3\"\r\n", "DELETESCRIPT \"s2\"\r\n", "LOGOUT\r\n"});
  EXPECT_EQ(out,
            "OK \"Putscript completed\"\r\n"
            "OK \"Script activated\"\r\n"
            "OK \"Putscript completed\"\r\n"
            "\"s1\" ACTIVE\r\n\"s2\"\r\nOK \"Listscripts completed\"\r\n"
            "{7}\r\nkeep;\r\n\r\nOK \"Getscript completed\"\r\n"
            "NO (ACTIVE) \"You may not delete an active script\"\r\n"
            "OK \"Renamescript completed\"\r\n"
            "\"s2\"\r\n\"s3\" ACTIVE\r\nOK \"Listscripts completed\"\r\n"
            "NO (QUOTA/MAXSIZE) \"Script too large (at most 200 bytes)\"\r\n"
            "OK (TAG \"t\") \"Done\"\r\n"
            "OK \"No script active\"\r\n"
            "OK \"Deletescript completed\"\r\n"
            "OK \"Deletescript completed\"\r\n"
            "OK \"Logout completed\"\r\n");
}

TEST_F(ManageSieveSessionTest, OversizedLiteralClosesWithoutReading) {
  std::string out = logged_in({"PUTSCRIPT \"big\" {5000000+}\r\n", std::string(1000, 'x'), "NOOP\r\n"});
  EXPECT_EQ(out.rfind("BYE (QUOTA/MAXSIZE) \"Literal too large", 0), 0u) << out;
  EXPECT_EQ(out.find("Done"), std::string::npos);
}

TEST_F(ManageSieveSessionTest, SyntaxErrorsAnsweredThenByeAfterTooMany) {
  std::vector<std::string> chunks;
  for (int i = 0; i < 25; ++i) chunks.push_back("NOOP \"open\r\n");
  auto t = run(chunks);
  EXPECT_NE(t->output.find("NO \"Unterminated string\"\r\n"), std::string::npos);
  EXPECT_NE(t->output.find("BYE \"Too many bad commands\"\r\n"), std::string::npos) << t->output;
}

}  // namespace
}  // namespace mailfort::testing
