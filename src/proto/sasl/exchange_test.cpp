#include "proto/sasl/exchange.h"

#include <gtest/gtest.h>

#include "base/base64.h"
#include "proto/sasl/sasl.h"

namespace mailfort::proto::sasl {
namespace {

using Kind = Step::Kind;
constexpr Mechanisms kBoth = kPlain | kLogin;

std::string plain(std::string_view authzid, std::string_view authcid, std::string_view password) {
  return base64::encode(std::string(authzid) + '\0' + std::string(authcid) + '\0' + std::string(password));
}

void expect_failure(const Step& s, Failure f) {
  ASSERT_EQ(s.kind, Kind::Failed);
  EXPECT_EQ(s.failure, f);
}

void expect_credentials(const Step& s, std::string_view authcid, std::string_view password,
                        std::string_view authzid = "") {
  ASSERT_EQ(s.kind, Kind::Done);
  EXPECT_EQ(s.credentials.authcid, authcid);
  EXPECT_EQ(s.credentials.password, password);
  EXPECT_EQ(s.credentials.authzid, authzid);
}

TEST(SaslExchange, PlainWithInitialResponse) {
  Exchange e;
  expect_credentials(e.start("PLAIN", plain("", "user@example.org", "secret"), kBoth), "user@example.org",
                     "secret");
  EXPECT_EQ(e.mechanism(), Mechanism::Plain);
  expect_failure(e.respond("x"), Failure::Malformed);  // the exchange is over
}

TEST(SaslExchange, PlainWithEmptyChallenge) {
  Exchange e;
  auto s = e.start("plain", std::nullopt, kPlain);
  ASSERT_EQ(s.kind, Kind::Challenge);
  EXPECT_EQ(s.challenge, "");
  expect_credentials(e.respond(plain("u@example.org", "u@example.org", "pw")), "u@example.org", "pw",
                     "u@example.org");
}

TEST(SaslExchange, PlainFailures) {
  auto first = [](std::optional<std::string_view> ir, std::string_view response = "") {
    Exchange e;
    auto s = e.start("PLAIN", ir, kBoth);
    return s.kind == Kind::Challenge ? e.respond(response) : s;
  };
  expect_failure(first("*"), Failure::Cancelled);  // the initial response is PLAIN's one response
  expect_failure(first(std::nullopt, "*"), Failure::Cancelled);
  expect_failure(first("!!!!"), Failure::BadBase64);
  expect_failure(first("Zg="), Failure::BadBase64);
  expect_failure(first(std::nullopt, "Zm9v Yg=="), Failure::BadBase64);
  expect_failure(first("="), Failure::Malformed);  // empty
  expect_failure(first(""), Failure::Malformed);
  expect_failure(first(base64::encode("no-nuls")), Failure::Malformed);
  expect_failure(first(plain("", "", "pw")), Failure::Malformed);
  expect_failure(first(plain("", "user", "")), Failure::Malformed);
  expect_failure(first(plain("", "user", std::string(1100, 'p'))), Failure::Malformed);
  expect_failure(first(plain("admin@example.org", "user@example.org", "pw")), Failure::AuthzidNotPermitted);
}

TEST(SaslExchange, LoginTwoSteps) {
  Exchange e;
  auto s = e.start("LOGIN", std::nullopt, kBoth);
  ASSERT_EQ(s.kind, Kind::Challenge);
  EXPECT_EQ(base64::decode(s.challenge), "Username:");
  EXPECT_EQ(e.mechanism(), Mechanism::Login);
  s = e.respond(base64::encode("user@example.org"));
  ASSERT_EQ(s.kind, Kind::Challenge);
  EXPECT_EQ(base64::decode(s.challenge), "Password:");
  expect_credentials(e.respond(base64::encode("pass word")), "user@example.org", "pass word");
}

TEST(SaslExchange, LoginWithInitialResponse) {
  Exchange e;
  auto s = e.start("login", base64::encode(std::string("a\0b", 3)), kLogin);  // a NUL is the session's problem
  ASSERT_EQ(s.kind, Kind::Challenge);
  EXPECT_EQ(s.challenge, "UGFzc3dvcmQ6");
  expect_credentials(e.respond("cHc="), std::string("a\0b", 3), "pw");
}

TEST(SaslExchange, LoginFailures) {
  auto run = [](std::optional<std::string_view> ir, std::initializer_list<std::string_view> lines) {
    Exchange e;
    auto s = e.start("LOGIN", ir, kBoth);
    for (auto l : lines) {
      if (s.kind != Kind::Challenge) break;
      s = e.respond(l);
    }
    return s;
  };
  expect_failure(run(std::nullopt, {"*"}), Failure::Cancelled);
  expect_failure(run(std::nullopt, {"dXNlcg==", "*"}), Failure::Cancelled);
  expect_failure(run("dXNlcg==", {"*"}), Failure::Cancelled);
  expect_failure(run("*", {}), Failure::BadBase64);  // an initial response is data, not a cancel
  expect_failure(run("=", {}), Failure::Malformed);  // empty name
  expect_failure(run(std::nullopt, {""}), Failure::Malformed);
  expect_failure(run(std::nullopt, {"dXNlcg", "cHc="}), Failure::BadBase64);
  expect_failure(run(std::nullopt, {"dXNlcg==", "cHc"}), Failure::BadBase64);
  expect_failure(run(std::nullopt, {"dXNlcg==", "="}), Failure::Malformed);  // empty password
}

TEST(SaslExchange, OnlyOfferedMechanisms) {
  Exchange a;
  expect_failure(a.start("LOGIN", std::nullopt, kPlain), Failure::UnknownMechanism);
  Exchange b;
  expect_failure(b.start("CRAM-MD5", std::nullopt, kBoth), Failure::UnknownMechanism);
  Exchange c;
  expect_failure(c.start("PLAINX", plain("", "u", "p"), kBoth), Failure::UnknownMechanism);
  Exchange d;
  expect_failure(d.respond("dXNlcg=="), Failure::Malformed);  // nothing was asked
  Exchange e;
  EXPECT_EQ(e.start("PLAIN", std::nullopt, kBoth).kind, Kind::Challenge);
  expect_failure(e.start("PLAIN", std::nullopt, kBoth), Failure::Malformed);  // one exchange per object
}

}  // namespace
}  // namespace mailfort::proto::sasl
