// COMPRESS=DEFLATE and UNAUTHENTICATE driven from memory (src/testing):
// the states they run in, the switch to deflate in the middle of a
// pipelined input, and a second login on the same connection.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "imap/imap_render.h"
#include "imap/imap_session.h"
#include "testing/session_harness.h"

namespace mailfort::testing {
namespace {

const std::string kLogin =
    std::string("L LOGIN ") + SessionHarness::kUser + " \"" + SessionHarness::kPassword + "\"\r\n";

class ImapExt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { harness_ = new SessionHarness("", imap::build_cache); }
  static void TearDownTestSuite() {
    delete harness_;
    harness_ = nullptr;
  }
  std::string run(std::vector<std::string> chunks) {
    auto t = harness_->run(imap::run_session, "imaps", std::move(chunks));
    EXPECT_TRUE(harness_->finished()) << t->output;
    return t->output;
  }
  static SessionHarness* harness_;
};
SessionHarness* ImapExt::harness_ = nullptr;

// Raw deflate with a sync flush, as an RFC 4978 client sends.
std::string deflate_raw(z_stream& z, std::string_view s) {
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    deflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (z.avail_out == 0);
  return out;
}

std::string inflate_raw(std::string_view s) {
  z_stream z{};
  inflateInit2(&z, -15);
  std::string out;
  char buf[4096];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(s.data()));
  z.avail_in = static_cast<uInt>(s.size());
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    int rc = inflate(&z, Z_SYNC_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc != Z_OK) break;
  } while (z.avail_in > 0 || z.avail_out == 0);
  inflateEnd(&z);
  return out;
}

TEST_F(ImapExt, CompressOnlyAfterLogin) {
  auto out = run({"a COMPRESS DEFLATE\r\n", "b LOGOUT\r\n"});
  EXPECT_NE(out.find("a BAD Log in first\r\n"), std::string::npos) << out;
}

TEST_F(ImapExt, CompressSwitchesBothDirections) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  // The commands after COMPRESS arrive in the same segment, already
  // compressed: the session must hand them to the inflater.
  std::string after = deflate_raw(z, "b NOOP\r\nc COMPRESS DEFLATE\r\n") + deflate_raw(z, "d LOGOUT\r\n");
  deflateEnd(&z);
  auto out = run({kLogin, "x COMPRESS FOO\r\na COMPRESS DEFLATE\r\n" + after});
  EXPECT_NE(out.find("x NO Unsupported compression mechanism\r\n"), std::string::npos) << out;
  auto at = out.find("a OK DEFLATE active\r\n");
  ASSERT_NE(at, std::string::npos) << out;
  std::string plain = inflate_raw(out.substr(at + std::strlen("a OK DEFLATE active\r\n")));
  EXPECT_NE(plain.find("b OK NOOP completed\r\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("c NO [COMPRESSIONACTIVE]"), std::string::npos) << plain;
  EXPECT_NE(plain.find("* BYE Logging out\r\nd OK LOGOUT completed\r\n"), std::string::npos) << plain;
}

TEST(ImapExtConfig, CompressCanBeTurnedOff) {
  SessionHarness h("[imap]\ncompress = false\n", imap::build_cache);
  auto t = h.run(imap::run_session, "imaps",
                 {kLogin, "a CAPABILITY\r\n", "b COMPRESS DEFLATE\r\n", "c LOGOUT\r\n"});
  EXPECT_EQ(t->output.find("COMPRESS=DEFLATE"), std::string::npos) << t->output;
  EXPECT_NE(t->output.find("b BAD Unknown command\r\n"), std::string::npos) << t->output;
  EXPECT_NE(t->output.find("c OK LOGOUT completed\r\n"), std::string::npos) << t->output;
}

TEST_F(ImapExt, UnauthenticateReturnsToNotAuthenticated) {
  auto out = run({"a UNAUTHENTICATE\r\n", kLogin, "b SELECT INBOX\r\n", "c ENABLE CONDSTORE\r\n",
                  "d UNAUTHENTICATE\r\n", "e SELECT INBOX\r\n", "f CAPABILITY\r\n", kLogin,
                  "g ENABLE CONDSTORE\r\n", "h SELECT INBOX\r\n", "i LOGOUT\r\n"});
  EXPECT_NE(out.find("a BAD Log in first\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("d OK UNAUTHENTICATE completed\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("e BAD Log in first\r\n"), std::string::npos) << out;
  // The capabilities of a session before login again.
  EXPECT_NE(out.find("* CAPABILITY IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE AUTH=PLAIN\r\n"),
            std::string::npos)
      << out;
  // ENABLE starts from nothing: CONDSTORE is enabled again, not "already".
  auto first = out.find("* ENABLED CONDSTORE\r\n");
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find("* ENABLED CONDSTORE\r\n", first + 1), std::string::npos) << out;
  EXPECT_NE(out.find("h OK [READ-WRITE] SELECT completed\r\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace mailfort::testing
