#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "store/group_commit.h"
#include "store/mail_store.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/mf-store-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(GroupCommit, RenamesBecomeVisibleAfterCommit) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  std::ofstream(t.path / "a.tmp") << "x";
  auto r = gc.value()->commit({{(t.path / "a.tmp").string(), (t.path / "a").string()}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(fs::exists(t.path / "a"));
  EXPECT_FALSE(fs::exists(t.path / "a.tmp"));
}

TEST(GroupCommit, FailedRenameUndoesTheTransaction) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  std::ofstream(t.path / "a.tmp") << "x";
  std::ofstream(t.path / "b.tmp") << "y";
  auto r = gc.value()->commit({{(t.path / "a.tmp").string(), (t.path / "a").string()},
                               {(t.path / "b.tmp").string(), (t.path / "missing-dir/b").string()}});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(t.path / "a"));  // all or nothing
  EXPECT_FALSE(fs::exists(t.path / "b.tmp"));
}

TEST(GroupCommit, ConcurrentTransactionsShareBatches) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  constexpr int kThreads = 16, kEach = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kEach; ++k) {
        auto name = "m" + std::to_string(i) + "_" + std::to_string(k);
        std::ofstream(t.path / (name + ".tmp")) << name;
        if (!gc.value()->commit({{(t.path / (name + ".tmp")).string(), (t.path / name).string()}}).ok())
          ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures, 0);
  auto s = gc.value()->stats();
  EXPECT_EQ(s.transactions, uint64_t{kThreads * kEach});
  EXPECT_LT(s.batches, s.transactions);  // group commit happened
  EXPECT_EQ(files_in(t.path).size(), size_t{kThreads * kEach});
}

TEST(MailStore, DeliversToEveryMailboxInMaildirLayout) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  MailStore store(t.path.string(), "mx.example.test", *gc.value());
  std::string msg = "Subject: hi\r\n\r\nbody\r\n";
  ASSERT_TRUE(store.deliver({"alice@example.test", "bob@example.test"}, msg).ok());
  for (std::string user : {"alice", "bob"}) {
    fs::path md = t.path / "mailboxes" / "example.test" / user / "mail";
    auto news = files_in(md / "new");
    ASSERT_EQ(news.size(), 1u) << user;
    EXPECT_EQ(slurp(news[0]), msg);
    EXPECT_NE(news[0].filename().string().find(",S=" + std::to_string(msg.size())), std::string::npos);
    EXPECT_TRUE(files_in(md / "tmp").empty());
    EXPECT_TRUE(fs::is_directory(md / "cur"));
  }
  auto u = store.usage("alice@example.test");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.value(), msg.size());
  ASSERT_TRUE(store.deliver({"alice@example.test"}, msg).ok());
  EXPECT_EQ(store.usage("alice@example.test").value(), 2 * msg.size());
}

TEST(MailStore, UniqueNamesUnderConcurrency) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  MailStore store(t.path.string(), "mx", *gc.value());
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 25; ++k) ASSERT_TRUE(store.deliver({"u@d.example"}, "x\r\n").ok());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(files_in(t.path / "mailboxes/d.example/u/mail/new").size(), 200u);
}

TEST(MailStore, RefusesPathTricks) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  MailStore store(t.path.string(), "mx", *gc.value());
  for (std::string bad : {"../x@d.example", "u@..", "a/b@d.example", ".hidden@d.example", "nodomain"}) {
    EXPECT_FALSE(store.deliver({bad}, "x").ok()) << bad;
  }
  EXPECT_FALSE(fs::exists(t.path / "x"));
}

TEST(MailStore, CleanupRemovesHalfWrittenTmpFiles) {
  TempDir t;
  auto gc = GroupCommit::start(t.path);
  MailStore store(t.path.string(), "mx", *gc.value());
  ASSERT_TRUE(store.deliver({"u@d.example"}, "x").ok());
  fs::path tmp = t.path / "mailboxes/d.example/u/mail/tmp";
  std::ofstream(tmp / "123.partial") << "half";
  store.cleanup_tmp();
  EXPECT_TRUE(files_in(tmp).empty());
  EXPECT_EQ(files_in(t.path / "mailboxes/d.example/u/mail/new").size(), 1u);
}

}  // namespace
