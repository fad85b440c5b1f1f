#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "directory/directory.h"
#include "dkim/dkim.h"
#include "outbound/dkim_outbound.h"

using namespace mailfort;

TEST(DkimOutbound, FromDomain) {
  EXPECT_EQ(outbound::from_domain("From: Alice <alice@Example.TEST>\r\nTo: b@b.test\r\n\r\nx"),
            "example.test");
  EXPECT_EQ(outbound::from_domain("Subject: x\r\nfrom : bob@b.test\r\n\r\n"), "b.test");
  EXPECT_EQ(outbound::from_domain("From: a@one.test, b@two.test\r\n\r\n"), "one.test");
  EXPECT_EQ(outbound::from_domain("From:\r\n Alice\r\n <alice@fold.test>\r\n\r\n"), "fold.test");
  EXPECT_EQ(outbound::from_domain("To: a@b.test\r\n\r\nFrom: x@y.test\r\n"), "");
}

TEST(DkimOutbound, WhoSigns) {
  auto dir = std::filesystem::temp_directory_path() / ("mf-dkim-out-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string d = dir.string();
  auto db = directory::open_sqlite(d + "/directory.sqlite");
  ASSERT_TRUE(db) << db.error().message;
  auto& directory = *db.value();
  ASSERT_TRUE(directory.add_domain("example.test"));
  ASSERT_TRUE(directory.add_domain("nokey.test"));
  ASSERT_TRUE(dkim::create_key(d, "example.test", "e", dkim::Algorithm::Ed25519));
  ASSERT_TRUE(dkim::create_key(d, "example.test", "r", dkim::Algorithm::Rsa2048));
  ASSERT_TRUE(dkim::create_key(d, "remote.test", "e", dkim::Algorithm::Ed25519));  // not a local domain
  std::string msg = "From: alice@example.test\r\nSubject: x\r\n\r\nbody\r\n";
  auto count = [](const std::string& s) {
    std::size_t n = 0;
    for (std::size_t p = 0; (p = s.find("DKIM-Signature:", p)) != std::string::npos; ++p) ++n;
    return n;
  };
  // Authenticated submission from a domain with both keys: dual signature.
  auto both = outbound::dkim_signatures(directory, d, "alice@example.test", "alice@example.test", msg, 1);
  EXPECT_EQ(count(both), 2u);
  EXPECT_NE(both.find("a=rsa-sha256"), std::string::npos);
  EXPECT_NE(both.find("a=ed25519-sha256"), std::string::npos);
  // MX-received (no login): never signed, whatever the sender and From say.
  EXPECT_EQ(outbound::dkim_signatures(directory, d, "alice@example.test", "", msg, 1), "");
  // Sender without keys: the From domain signs only when it is the login's own.
  EXPECT_EQ(count(outbound::dkim_signatures(directory, d, "x@nokey.test", "alice@example.test", msg, 1)), 2u);
  EXPECT_EQ(outbound::dkim_signatures(directory, d, "x@nokey.test", "x@nokey.test", msg, 1), "");
  // A key for a domain that is not local is not used.
  EXPECT_EQ(outbound::dkim_signatures(directory, d, "a@remote.test", "a@remote.test",
                                      "From: a@remote.test\r\n\r\nx\r\n", 1),
            "");
  std::filesystem::remove_all(dir);
}
