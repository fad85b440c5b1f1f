#include "proto/sasl/sasl.h"

#include <gtest/gtest.h>

namespace mailfort::proto {
namespace {

TEST(Sasl, PlainMessages) {
  auto c = sasl::parse_plain(std::string("\0user@example.org\0secret", 24));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->authzid, "");
  EXPECT_EQ(c->authcid, "user@example.org");
  EXPECT_EQ(c->password, "secret");
  auto z = sasl::parse_plain(std::string("admin\0u*()\\'%\0pw", 16));
  ASSERT_TRUE(z);
  EXPECT_EQ(z->authzid, "admin");
  EXPECT_EQ(z->authcid, "u*()\\'%");
  EXPECT_FALSE(sasl::parse_plain("no-nuls"));
  EXPECT_FALSE(sasl::parse_plain(std::string("\0user", 5)));
  EXPECT_FALSE(sasl::parse_plain(std::string("\0user\0pw\0x", 10)));
  EXPECT_FALSE(sasl::parse_plain(std::string("\0\0pw", 4)));
  EXPECT_FALSE(sasl::parse_plain(std::string("\0user\0", 6)));
  EXPECT_FALSE(sasl::parse_plain(std::string(2000, 'a')));
}

}  // namespace
}  // namespace mailfort::proto
