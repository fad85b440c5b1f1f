#include <unistd.h>
#include <algorithm>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
  std::vector<SpecialFolder> special{
      {"Sent", "\\Sent"}, {"Trash", "\\Trash"}, {"Spam", "\\Junk"}, {"Drafts", "\\Drafts"}};
  Fixture() {
    char tmpl[] = "/tmp/mf-mailbox-XXXXXX";
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
                                "bob@example.test", special,
                                [](std::string_view m) { return "cache:" + std::to_string(m.size()); });
    EXPECT_TRUE(mb) << mb.error().message;
    return mb ? *mb : nullptr;
  }
};

TEST(Mailbox, SpecialFoldersExistAndAreSubscribed) {
  Fixture f;
  auto mb = f.open();
  auto subs = mb->subscriptions();
  EXPECT_EQ(*subs, (std::vector<std::string>{"Drafts", "INBOX", "Sent", "Spam", "Trash"}));
  auto st = mb->status("sent");
  ASSERT_FALSE(st);  // names are case-sensitive except INBOX
  EXPECT_EQ(mb->status("Sent")->special_use, "\\Sent");
  EXPECT_EQ(mb->status("inbox")->name, "INBOX");
}

TEST(Mailbox, DeliveryIsImportedWithIncreasingUidsAndCache) {
  Fixture f;
  ASSERT_TRUE(f.store->deliver({"bob@example.test"}, "Subject: one\r\n\r\nbody\r\n"));
  auto mb = f.open();
  ASSERT_TRUE(f.store->deliver({"bob@example.test"}, "Subject: two\r\n\r\nbody 2\r\n"));
  EXPECT_EQ(*mb->sync_inbox(), 1u);
  auto inbox = mb->status("INBOX");
  auto msgs = mb->messages(inbox->id);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].uid, 1u);
  EXPECT_EQ((*msgs)[1].uid, 2u);
  EXPECT_EQ(*mb->cache(inbox->id, 2), "cache:24");
  EXPECT_EQ(*mb->read(inbox->id, 1), "Subject: one\r\n\r\nbody\r\n");
  EXPECT_EQ(mb->status("INBOX")->uidnext, 3u);
  EXPECT_TRUE(fs::is_empty(fs::path(f.store->maildir_of("bob@example.test")) / "new"));
}

TEST(Mailbox, FlagsModseqExpungeAndChanges) {
  Fixture f;
  auto mb = f.open();
  auto inbox = mb->status("INBOX")->id;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(mb->append("INBOX", "Subject: x\r\n\r\nx\r\n", 0, {}, 0));
  uint64_t before = mb->status("INBOX")->highest_modseq;
  auto r =
      mb->store_flags(inbox, {1, 2}, UserMailbox::FlagMode::Add, kSeen | kDeleted, {"$Junk"}, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->updated.size(), 2u);
  auto ch = mb->changes_since(inbox, before);
  EXPECT_EQ(ch->changed.size(), 2u);
  EXPECT_EQ(ch->changed[0].keywords, std::vector<std::string>{"$Junk"});
  // UNCHANGEDSINCE below the current modseq fails for that message.
  auto r2 = mb->store_flags(inbox, {1, 3}, UserMailbox::FlagMode::Remove, kSeen, {}, before);
  EXPECT_EQ(r2->modified, std::vector<uint32_t>{1});
  std::vector<uint32_t> only{2};
  EXPECT_EQ(*mb->expunge(inbox, &only), std::vector<uint32_t>{2});
  EXPECT_EQ(*mb->expunge(inbox, nullptr), std::vector<uint32_t>{1});
  ch = mb->changes_since(inbox, before);
  EXPECT_EQ(ch->expunged, (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(mb->messages(inbox)->size(), 1u);
  // UIDs are never reused after expunge.
  EXPECT_EQ(mb->append("INBOX", "y", 0, {}, 0)->uid, 4u);
}

TEST(Mailbox, CachesMatchCacheForRangesAndSparseSets) {
  Fixture f;
  auto mb = f.open();
  auto inbox = mb->status("INBOX")->id;
  for (int i = 0; i < 300; ++i)
    ASSERT_TRUE(mb->append("INBOX", std::string(static_cast<std::size_t>(i + 1), 'm'), 0, {}, 0));
  std::vector<uint32_t> gone{5, 150};
  ASSERT_TRUE(mb->store_flags(inbox, gone, UserMailbox::FlagMode::Add, kDeleted, {}, std::nullopt));
  ASSERT_TRUE(mb->expunge(inbox, nullptr));
  auto check = [&](const std::vector<uint32_t>& uids) {
    auto got = mb->caches(inbox, uids);
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), uids.size());
    for (std::size_t i = 0; i < uids.size(); ++i) {
      auto one = mb->cache(inbox, uids[i]);
      if (one)
        EXPECT_EQ((*got)[i], std::optional<std::string>(*one)) << "uid " << uids[i];
      else
        EXPECT_FALSE((*got)[i].has_value()) << "uid " << uids[i];
    }
  };
  std::vector<uint32_t> range;
  for (uint32_t u = 1; u <= 64; ++u) range.push_back(u);  // dense, with expunged UID 5
  check(range);
  check({60, 2, 2, 5, 7});     // dense: one scan, any order, repeats, gone
  check({1, 299, 150, 3000});  // sparse: point lookups, one gone, one never was
  check({});
  EXPECT_EQ((*mb->caches(inbox, {64}))[0], "cache:64");
}

TEST(Mailbox, DetailsGiveSizeAndDateWithOrWithoutCache) {
  Fixture f;
  auto mb = f.open();
  auto inbox = mb->status("INBOX")->id;
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        mb->append("INBOX", std::string(static_cast<std::size_t>(100 + i), 'm'), 0, {}, 1700000000 + i));
  auto all = mb->messages(inbox);
  ASSERT_TRUE(all);
  for (bool with_cache : {false, true}) {
    for (std::vector<uint32_t> uids :
         {std::vector<uint32_t>{1, 2, 3, 10, 11}, std::vector<uint32_t>{9, 5000}}) {
      auto got = mb->details(inbox, uids, with_cache);
      ASSERT_TRUE(got);
      ASSERT_EQ(got->size(), uids.size());
      for (std::size_t i = 0; i < uids.size(); ++i) {
        auto m = std::find_if(all->begin(), all->end(), [&](auto& x) { return x.uid == uids[i]; });
        if (m == all->end()) {
          EXPECT_FALSE((*got)[i].has_value()) << uids[i];
          continue;
        }
        ASSERT_TRUE((*got)[i].has_value()) << uids[i];
        EXPECT_EQ((*got)[i]->size, m->size);
        EXPECT_EQ((*got)[i]->internal_date, m->internal_date);
        EXPECT_EQ((*got)[i]->cache, with_cache ? "cache:" + std::to_string(m->size) : "");
      }
    }
  }
}

TEST(Mailbox, CopyMoveRenameDelete) {
  Fixture f;
  auto mb = f.open();
  auto inbox = mb->status("INBOX")->id;
  ASSERT_TRUE(mb->append("INBOX", "a", kSeen, {"work"}, 1700000000));
  ASSERT_TRUE(mb->append("INBOX", "bb", 0, {}, 0));
  ASSERT_TRUE(mb->create("Archive/2024"));
  EXPECT_TRUE(mb->status("Archive"));  // parent created implicitly
  auto c = mb->copy(inbox, {1}, "Archive/2024", false);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->dest_uids, std::vector<uint32_t>{1});
  auto missing = mb->copy(inbox, {1}, "Nope", false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  // Storage says what went wrong; IMAP adds its own response code ([TRYCREATE]).
  EXPECT_EQ(missing.error().message, "no such folder");
  EXPECT_EQ(mb->append("Nope", "x", 0, {}, 0).error().message, "no such folder");
  auto mv = mb->copy(inbox, {2}, "Archive/2024", true);
  ASSERT_TRUE(mv);
  EXPECT_EQ(mb->messages(inbox)->size(), 1u);
  ASSERT_TRUE(mb->rename("Archive", "Old"));
  auto old = mb->status("Old/2024");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->messages, 2u);
  auto msgs = mb->messages(old->id);
  EXPECT_EQ((*msgs)[0].flags, kSeen);
  EXPECT_EQ((*msgs)[0].keywords, std::vector<std::string>{"work"});
  EXPECT_EQ((*msgs)[0].internal_date, 1700000000);
  EXPECT_EQ(*mb->read(old->id, 2), "bb");
  EXPECT_FALSE(mb->status("Archive/2024"));
  ASSERT_TRUE(mb->remove("Old/2024"));
  EXPECT_FALSE(mb->status("Old/2024"));
  EXPECT_EQ(mb->remove("INBOX").error().code, Errc::Perm);
}

TEST(Mailbox, QuotaRefusesAppendAndCopy) {
  Fixture f;
  auto mb = f.open();
  mb->set_quota(10);
  ASSERT_TRUE(mb->append("INBOX", "123456", 0, {}, 0));
  EXPECT_EQ(mb->append("INBOX", "12345", 0, {}, 0).error().code, Errc::OverQuota);
  EXPECT_EQ(mb->copy(mb->status("INBOX")->id, {1}, "Sent", false).error().code, Errc::OverQuota);
  EXPECT_EQ(mb->usage(), 6u);
}

TEST(Mailbox, ReopenReconcilesCrashLeftovers) {
  Fixture f;
  int64_t inbox;
  std::string dir = f.store->maildir_of("bob@example.test");
  {
    auto mb = f.open();
    inbox = mb->status("INBOX")->id;
    ASSERT_TRUE(mb->append("INBOX", "first", 0, {}, 0));
    ASSERT_TRUE(mb->append("INBOX", "second", 0, {}, 0));
  }
  // A file that reached cur/ without its index row, and a row whose file
  // was unlinked before its expunge committed.
  std::ofstream(dir + "/cur/1.M1P1.host,S=5:2,") << "third";
  for (auto& e : fs::directory_iterator(dir + "/cur")) {
    std::string body;
    std::getline(std::ifstream(e.path()), body);
    if (body == "first") fs::remove(e.path());
  }
  auto mb = f.open();
  auto msgs = mb->messages(inbox);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].uid, 2u);
  EXPECT_EQ((*msgs)[1].uid, 3u);  // new UID, never a reused one
  EXPECT_EQ(*mb->read(inbox, 3), "third");
}

TEST(Mailbox, WatchersSeeChanges) {
  Fixture f;
  auto mb = f.open();
  int calls = 0;
  auto t = mb->watch([&] { ++calls; });
  ASSERT_TRUE(mb->append("INBOX", "x", 0, {}, 0));
  EXPECT_EQ(calls, 1);
  mb->unwatch(t);
  ASSERT_TRUE(mb->append("INBOX", "x", 0, {}, 0));
  EXPECT_EQ(calls, 1);
}

}  // namespace

// A crash inside DELETE: before the index commit the folder survives whole;
// after it, the old files never come back in a new folder of the same name.
TEST(Mailbox, FolderDeleteInterruptedByACrashIsSettledAtOpen) {
  Fixture f;
  fs::path maildir = f.store->maildir_of("bob@example.test");
  int64_t work_id = 0;
  {
    auto mb = f.open();
    ASSERT_TRUE(mb->create("Work"));
    ASSERT_TRUE(mb->append("Work", "Subject: keep\r\n\r\nx\r\n", 0, {}, 0));
    work_id = mb->status("Work")->id;
    // Crash after the move aside, before the commit.
    fs::rename(maildir / ".Work", maildir / ("mailfort-deleted-" + std::to_string(work_id) + "-1-1"));
  }
  {
    auto mb = f.open();
    auto st = mb->status("Work");
    ASSERT_TRUE(st);
    EXPECT_EQ(st->messages, 1u);
    EXPECT_FALSE(fs::exists(maildir / ("mailfort-deleted-" + std::to_string(work_id) + "-1-1")));
    // Crash after the commit, before the removal: simulated by keeping a
    // copy of the directory under the aside name.
    fs::copy(maildir / ".Work", maildir / ("mailfort-deleted-" + std::to_string(work_id) + "-2-2"),
             fs::copy_options::recursive);
    ASSERT_TRUE(mb->remove("Work"));
  }
  auto mb = f.open();
  EXPECT_FALSE(fs::exists(maildir / ("mailfort-deleted-" + std::to_string(work_id) + "-2-2")));
  ASSERT_TRUE(mb->create("Work"));
  EXPECT_EQ(mb->status("Work")->messages, 0u);
}
