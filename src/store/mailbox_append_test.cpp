#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

struct Fixture {
  fs::path root;
  std::unique_ptr<GroupCommit> commit;
  std::unique_ptr<MailStore> store;
  Fixture() {
    char tmpl[] = "/tmp/mf-append-XXXXXX";
    root = ::mkdtemp(tmpl);
    commit = std::move(GroupCommit::start(root.string()).value());
    store = std::make_unique<MailStore>(root.string(), "host.test", *commit);
  }
  ~Fixture() {
    commit.reset();
    fs::remove_all(root);
  }
  std::shared_ptr<UserMailbox> open() {
    auto mb = UserMailbox::open(store->maildir_of("bob@example.test"), "host.test", *commit, store.get(),
                                "bob@example.test", {}, nullptr);
    EXPECT_TRUE(mb) << mb.error().message;
    return mb ? *mb : nullptr;
  }
};

TEST(MailboxAppend, ManyGetConsecutiveUidsInOneGo) {
  Fixture f;
  auto mb = f.open();
  std::vector<AppendItem> items(3);
  items[0].message = "Subject: 1\r\n\r\na\r\n";
  items[1].message = "Subject: 2\r\n\r\nbb\r\n";
  items[1].flags = kSeen;
  items[1].keywords = {"$Label1"};
  items[2].message = "Subject: 3\r\n\r\nccc\r\n";
  items[2].internal_date = 1700000000;
  auto r = mb->append_many("INBOX", items);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->uids, (std::vector<uint32_t>{1, 2, 3}));
  auto st = mb->status("INBOX");
  EXPECT_EQ(r->uidvalidity, st->uidvalidity);
  EXPECT_EQ(st->messages, 3u);
  auto msgs = mb->messages(st->id);
  ASSERT_EQ(msgs->size(), 3u);
  EXPECT_EQ((*msgs)[1].flags, kSeen);
  EXPECT_EQ((*msgs)[1].keywords, (std::vector<std::string>{"$Label1"}));
  EXPECT_EQ((*msgs)[2].internal_date, 1700000000);
  EXPECT_EQ(*mb->read(st->id, 2), "Subject: 2\r\n\r\nbb\r\n");
}

TEST(MailboxAppend, NothingWhenTheFolderIsMissingOrOverQuota) {
  Fixture f;
  auto mb = f.open();
  std::vector<AppendItem> items(2);
  items[0].message = items[1].message = "Subject: x\r\n\r\nbody\r\n";
  auto r = mb->append_many("Nope", items);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::NotFound);
  mb->set_quota(30);  // one fits, two do not
  r = mb->append_many("INBOX", items);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::OverQuota);
  EXPECT_EQ(mb->status("INBOX")->messages, 0u);
  // No file left behind either.
  for (const auto& e : fs::recursive_directory_iterator(f.root))
    if (e.is_regular_file()) EXPECT_EQ(e.path().string().find("/cur/"), std::string::npos) << e.path();
}

TEST(MailboxAppend, UrlauthKeysPerFolderAndReset) {
  Fixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("A"));
  EXPECT_EQ(*mb->urlauth_key("A", false), "");
  auto k1 = mb->urlauth_key("A", true);
  ASSERT_TRUE(k1);
  EXPECT_EQ(k1->size(), 32u);
  EXPECT_EQ(*mb->urlauth_key("A", true), *k1);  // stable
  EXPECT_NE(*mb->urlauth_key("INBOX", true), *k1);
  EXPECT_EQ(mb->urlauth_key("Nope", true).error().code, Errc::NotFound);
  std::string a = "A";
  ASSERT_TRUE(mb->reset_urlauth_keys(&a));
  EXPECT_EQ(*mb->urlauth_key("A", false), "");
  EXPECT_NE(*mb->urlauth_key("INBOX", false), "");
  ASSERT_TRUE(mb->reset_urlauth_keys(nullptr));
  EXPECT_EQ(*mb->urlauth_key("INBOX", false), "");
  // A folder deleted and created again does not inherit the old key.
  auto k2 = *mb->urlauth_key("A", true);
  ASSERT_TRUE(mb->remove("A"));
  ASSERT_TRUE(mb->create("A"));
  EXPECT_EQ(*mb->urlauth_key("A", false), "");
  EXPECT_NE(*mb->urlauth_key("A", true), k2);
}

}  // namespace
