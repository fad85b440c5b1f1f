// SMTP sessions driven from memory (src/testing): pipelining, smuggling,
// STARTTLS injection and the command state machine, without sockets.
#include "smtp/smtp_session.h"

#include <gtest/gtest.h>

#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

bool has_line(const std::string& out, const std::string& prefix) {
  for (const auto& l : lines_of(out))
    if (l.rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(SmtpSession, GreetsAndQuits) {
  SessionHarness h;
  auto t = h.run(smtp::run_session, "mx", {"EHLO client.example\r\n", "QUIT\r\n"});
  ASSERT_TRUE(h.finished());
  auto lines = lines_of(t->output);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front().rfind("220 mail.example.test", 0), 0u) << t->output;
  EXPECT_TRUE(has_line(t->output, "250-PIPELINING")) << t->output;
  EXPECT_EQ(lines.back().rfind("221", 0), 0u) << t->output;
}

}  // namespace
}  // namespace mailfort::testing
