// Subscriptions: their own list of names, kept when a folder is deleted
// (RFC 9051 6.3.9), moved by RENAME, carried over from older indexes.
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

struct SubFixture {
  fs::path root;
  std::unique_ptr<GroupCommit> commit;
  std::unique_ptr<MailStore> store;
  std::vector<SpecialFolder> special{{"Sent", "\\Sent"}};
  SubFixture() {
    char tmpl[] = "/tmp/mf-subs-XXXXXX";
    root = ::mkdtemp(tmpl);
    commit = std::move(GroupCommit::start(root.string()).value());
    store = std::make_unique<MailStore>(root.string(), "host.test", *commit);
  }
  ~SubFixture() {
    commit.reset();
    fs::remove_all(root);
  }
  std::shared_ptr<UserMailbox> open() {
    auto mb = UserMailbox::open(store->maildir_of("bob@example.test"), "host.test", *commit, store.get(),
                                "bob@example.test", special, [](std::string_view) { return std::string(); });
    EXPECT_TRUE(mb) << mb.error().message;
    return mb ? *mb : nullptr;
  }
  std::vector<std::string> subs(UserMailbox& mb) { return mb.subscriptions().value(); }
};

using Names = std::vector<std::string>;

TEST(Subscriptions, OutliveTheirFolderUntilUnsubscribed) {
  SubFixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("a/b"));
  ASSERT_TRUE(mb->subscribe("a/b", true));
  ASSERT_TRUE(mb->subscribe("a/b", true));  // twice is once
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX", "Sent", "a/b"}));
  EXPECT_TRUE(mb->status("a/b")->subscribed);
  ASSERT_TRUE(mb->remove("a/b"));
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX", "Sent", "a/b"}));
  ASSERT_TRUE(mb->create("a/b"));  // a new folder of the name is subscribed
  EXPECT_TRUE(mb->status("a/b")->subscribed);
  ASSERT_TRUE(mb->remove("a/b"));
  ASSERT_TRUE(mb->subscribe("a/b", false));  // a name without a folder can be unsubscribed
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX", "Sent"}));
  EXPECT_FALSE(mb->subscribe("nope", true));  // only existing folders are subscribed
  EXPECT_TRUE(mb->subscribe("nope", false));
  ASSERT_TRUE(mb->subscribe("inbox", false));  // INBOX in any case
  EXPECT_EQ(f.subs(*mb), (Names{"Sent"}));
}

TEST(Subscriptions, FollowRename) {
  SubFixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("p/c"));
  ASSERT_TRUE(mb->create("pq"));
  ASSERT_TRUE(mb->subscribe("p", true));
  ASSERT_TRUE(mb->subscribe("p/c", true));
  ASSERT_TRUE(mb->subscribe("pq", true));
  ASSERT_TRUE(mb->rename("p", "r"));
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX", "Sent", "pq", "r", "r/c"}));
}

TEST(Subscriptions, KeptAcrossReopenAndCarriedOverFromTheFolderColumn) {
  SubFixture f;
  {
    auto mb = f.open();
    ASSERT_TRUE(mb->create("old"));
    ASSERT_TRUE(mb->subscribe("Sent", false));
  }
  {
    // An index written before the subscription table: the flag in the folder row.
    auto db = sqlite::Database::open(f.store->maildir_of("bob@example.test") + "/mailfort-index.sqlite", {});
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("UPDATE folder SET subscribed = 1 WHERE name = 'old';"));
  }
  auto mb = f.open();
  // Sent stays unsubscribed: only a special folder being created is subscribed.
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX", "old"}));
  ASSERT_TRUE(mb->subscribe("old", false));
  mb.reset();
  mb = f.open();
  EXPECT_EQ(f.subs(*mb), (Names{"INBOX"}));
}

}  // namespace
