#include "directory/access.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "base/sqlite.h"
#include "directory/directory.h"

namespace mailfort::directory {
namespace {

TEST(Access, EntriesAreNormalised) {
  EXPECT_EQ(normalize_access_entry("192.0.2.7/24"), "192.0.2.0/24");
  EXPECT_EQ(normalize_access_entry("127.0.0.9"), "127.0.0.9");
  EXPECT_EQ(normalize_access_entry("127.0.0.9/32"), "127.0.0.9");
  EXPECT_EQ(normalize_access_entry("10.1.2.3/9"), "10.0.0.0/9");
  EXPECT_EQ(normalize_access_entry("2001:DB8::1/32"), "2001:db8::/32");
  EXPECT_EQ(normalize_access_entry("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(normalize_access_entry("0.0.0.0/0"), "0.0.0.0/0");
  EXPECT_EQ(normalize_access_entry("Spam@Example.ORG"), "spam@example.org");
  EXPECT_EQ(normalize_access_entry("@Example.org"), "@example.org");
  for (const char* bad : {"", "example.org", "192.0.2.0/33", "192.0.2.300", "a b@example.org", "x@",
                          "x@bad..domain", "<x@example.org>"}) {
    EXPECT_FALSE(normalize_access_entry(bad)) << bad;
  }
  EXPECT_TRUE(is_client_entry("192.0.2.0/24"));
  EXPECT_FALSE(is_client_entry("@example.org"));
  EXPECT_EQ(parse_access_action("PERMIT"), AccessAction::Permit);
  EXPECT_EQ(parse_access_action("reject"), AccessAction::Reject);
  EXPECT_FALSE(parse_access_action("allow"));
}

TEST(Access, MostSpecificClientEntryWinsRejectOnTies) {
  std::vector<AccessEntry> e{{"127.0.0.0/8", AccessAction::Reject},
                             {"127.0.0.10", AccessAction::Permit},
                             {"192.0.2.0/24", AccessAction::Permit},
                             {"192.0.2.0/25", AccessAction::Reject},
                             {"@example.org", AccessAction::Reject}};
  EXPECT_EQ(match_client_access(e, "127.0.0.9"), AccessAction::Reject);
  EXPECT_EQ(match_client_access(e, "127.0.0.10"), AccessAction::Permit);
  EXPECT_EQ(match_client_access(e, "192.0.2.1"), AccessAction::Reject);
  EXPECT_EQ(match_client_access(e, "192.0.2.200"), AccessAction::Permit);
  EXPECT_FALSE(match_client_access(e, "198.51.100.1"));
  EXPECT_FALSE(match_client_access(e, "::1"));
  e.push_back({"127.0.0.10", AccessAction::Reject});
  EXPECT_EQ(match_client_access(e, "127.0.0.10"), AccessAction::Reject);
}

TEST(Access, SenderAddressBeforeItsDomain) {
  std::vector<AccessEntry> e{{"@example.org", AccessAction::Reject},
                             {"boss@example.org", AccessAction::Permit},
                             {"127.0.0.1", AccessAction::Reject}};
  EXPECT_EQ(match_sender_access(e, "Spammer@EXAMPLE.org"), AccessAction::Reject);
  EXPECT_EQ(match_sender_access(e, "boss@example.org"), AccessAction::Permit);
  EXPECT_FALSE(match_sender_access(e, "x@other.example"));
  EXPECT_FALSE(match_sender_access(e, ""));
  EXPECT_FALSE(match_sender_access(e, "x@sub.example.org"));
}

TEST(Access, StoredInTheDirectoryAndAddedToOldDatabases) {
  char tmpl[] = "/tmp/mf-access-XXXXXX";
  std::filesystem::path dir = ::mkdtemp(tmpl);
  std::string path = (dir / "directory.sqlite").string();
  {
    // A database of an earlier version, without the access table.
    auto db = sqlite::Database::open(path, {});
    ASSERT_TRUE(db);
    ASSERT_TRUE(
        db.value().exec("CREATE TABLE domains (id INTEGER PRIMARY KEY, domain VARCHAR(255) UNIQUE);"));
  }
  auto d = open_sqlite(path);
  ASSERT_TRUE(d) << d.error().message;
  auto& dirp = *d.value();
  EXPECT_TRUE(dirp.list_access().value().empty());
  ASSERT_TRUE(dirp.add_access("192.0.2.9/24", AccessAction::Reject));
  ASSERT_TRUE(dirp.add_access("@Spam.example", AccessAction::Reject));
  ASSERT_TRUE(dirp.add_access("192.0.2.0/24", AccessAction::Permit));  // changes the action
  EXPECT_EQ(dirp.add_access("nonsense", AccessAction::Permit).error().code, Errc::Invalid);
  auto l = dirp.list_access().value();
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].entry, "192.0.2.0/24");
  EXPECT_EQ(l[0].action, AccessAction::Permit);
  EXPECT_EQ(l[1].entry, "@spam.example");
  EXPECT_TRUE(dirp.remove_access("192.0.2.1/24"));
  EXPECT_EQ(dirp.remove_access("192.0.2.0/24").error().code, Errc::NotFound);
  EXPECT_EQ(dirp.list_access().value().size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mailfort::directory
