// UserMailbox's \Recent boundary (take_recent) and UIDVALIDITY allocation:
// a new message is recent to one claimer only, and a folder name never
// sees the same UIDVALIDITY twice (DELETE + CREATE, RENAME, restarts, an
// index from before these columns).
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "base/sqlite.h"
#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

constexpr const char* kUser = "carol@example.test";

struct Fixture {
  fs::path root;
  std::unique_ptr<GroupCommit> commit;
  std::unique_ptr<MailStore> store;
  Fixture() {
    char tmpl[] = "/tmp/mf-recent-XXXXXX";
    root = ::mkdtemp(tmpl);
    commit = std::move(GroupCommit::start(root.string()).value());
    store = std::make_unique<MailStore>(root.string(), "host.test", *commit);
  }
  ~Fixture() {
    commit.reset();
    fs::remove_all(root);
  }
  std::shared_ptr<UserMailbox> open() {
    auto mb = UserMailbox::open(store->maildir_of(kUser), "host.test", *commit, store.get(), kUser, {}, {});
    EXPECT_TRUE(mb) << mb.error().message;
    return mb ? *mb : nullptr;
  }
  std::string index() const { return store->maildir_of(kUser) + "/mailfort-index.sqlite"; }
};

void append(UserMailbox& mb, const std::string& folder) {
  ASSERT_TRUE(mb.append(folder, "Subject: x\r\n\r\nx\r\n", 0, {}, 0));
}

TEST(MailboxRecent, NewMessagesAreClaimedOnce) {
  Fixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("Box"));
  auto id = mb->status("Box")->id;
  append(*mb, "Box");
  append(*mb, "Box");
  EXPECT_EQ(mb->status("Box")->recent, 2u);
  // EXAMINE and STATUS look without taking.
  EXPECT_EQ(*mb->take_recent(id, 2, false), 1u);
  EXPECT_EQ(mb->status("Box")->recent, 2u);
  // The first SELECT takes both; the next one gets none.
  EXPECT_EQ(*mb->take_recent(id, 2, true), 1u);
  EXPECT_EQ(mb->status("Box")->recent, 0u);
  EXPECT_EQ(*mb->take_recent(id, 2, true), 3u);
  // Only up to the UID the claimer has seen: a later arrival stays free.
  append(*mb, "Box");
  append(*mb, "Box");
  EXPECT_EQ(*mb->take_recent(id, 3, true), 3u);
  EXPECT_EQ(mb->status("Box")->recent, 1u);
  EXPECT_EQ(*mb->take_recent(id, 4, true), 4u);
  EXPECT_EQ(mb->status("Box")->recent, 0u);
  EXPECT_FALSE(mb->take_recent(id + 100, 1, true));
}

TEST(MailboxRecent, BoundaryIsDurable) {
  Fixture f;
  int64_t id = 0;
  {
    auto mb = f.open();
    id = mb->status("INBOX")->id;
    append(*mb, "INBOX");
    append(*mb, "INBOX");
    EXPECT_EQ(*mb->take_recent(id, 1, true), 1u);
  }
  auto mb = f.open();
  EXPECT_EQ(mb->status("INBOX")->recent, 1u);
  EXPECT_EQ(*mb->take_recent(id, 2, true), 2u);
}

TEST(MailboxRecent, UidvalidityNeverRepeatsForAName) {
  Fixture f;
  std::vector<uint32_t> seen;
  auto fresh = [&](uint32_t v) {
    for (uint32_t s : seen) EXPECT_GT(v, s);
    seen.push_back(v);
  };
  {
    auto mb = f.open();
    fresh(mb->status("INBOX")->uidvalidity);
    // DELETE + CREATE within the same second.
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(mb->create("Box"));
      fresh(mb->status("Box")->uidvalidity);
      ASSERT_TRUE(mb->remove("Box"));
    }
    // RENAME onto a name used before, with a child.
    ASSERT_TRUE(mb->create("Other/Child"));
    fresh(mb->status("Other")->uidvalidity);
    fresh(mb->status("Other/Child")->uidvalidity);
    ASSERT_TRUE(mb->rename("Other", "Box"));
    fresh(mb->status("Box")->uidvalidity);
    fresh(mb->status("Box/Child")->uidvalidity);
    // RENAME away + CREATE.
    ASSERT_TRUE(mb->rename("Box", "Moved"));
    fresh(mb->status("Moved")->uidvalidity);
    ASSERT_TRUE(mb->create("Box"));
    fresh(mb->status("Box")->uidvalidity);
    ASSERT_TRUE(mb->remove("Box"));
    ASSERT_TRUE(mb->remove("Moved/Child"));
    ASSERT_TRUE(mb->remove("Moved"));
  }
  // After a restart, with the folder holding the largest value gone.
  auto mb = f.open();
  ASSERT_TRUE(mb->create("Box"));
  fresh(mb->status("Box")->uidvalidity);
}

TEST(MailboxRecent, IndexFromBeforeTheColumnsIsUpgraded) {
  Fixture f;
  uint32_t validity = 0;
  {
    auto mb = f.open();
    ASSERT_TRUE(mb->create("Old"));
    append(*mb, "Old");
    validity = mb->status("Old")->uidvalidity;
  }
  {
    // The schema as it was: no first_recent column, no uidvalidity_last.
    auto db = sqlite::Database::open(f.index(), {.wal = true});
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("ALTER TABLE folder DROP COLUMN first_recent; DROP TABLE uidvalidity_last;"));
  }
  auto mb = f.open();
  auto old = mb->status("Old");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->messages, 1u);
  EXPECT_EQ(old->uidvalidity, validity);
  EXPECT_EQ(old->recent, 0u);  // seen before the upgrade: not new
  append(*mb, "Old");
  EXPECT_EQ(mb->status("Old")->recent, 1u);
  ASSERT_TRUE(mb->remove("Old"));
  ASSERT_TRUE(mb->create("Old"));
  EXPECT_GT(mb->status("Old")->uidvalidity, validity);
}

}  // namespace
