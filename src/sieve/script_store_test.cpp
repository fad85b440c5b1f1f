// ScriptStore on a temporary directory: names (RFC 5804 1.6), put/get/list,
// the active script, quota answers, delete/rename rules.
#include "sieve/script_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace mailfort::sieve {
namespace {
namespace fs = std::filesystem;

const std::string kUser = "alice@example.test";

class ScriptStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mf-script-store-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  ScriptStore store(ScriptQuota q = {}) { return ScriptStore(dir_.string(), q); }
  fs::path dir_;
};

TEST(ScriptStoreNames, FollowRfc5804) {
  EXPECT_TRUE(ScriptStore::valid_name("vacation"));
  EXPECT_TRUE(ScriptStore::valid_name("my rules 2"));
  EXPECT_TRUE(ScriptStore::valid_name("\xC3\xA9t\xC3\xA9"));  // été
  EXPECT_TRUE(ScriptStore::valid_name(std::string(255, 'a')));
  EXPECT_FALSE(ScriptStore::valid_name(""));
  EXPECT_FALSE(ScriptStore::valid_name(std::string(256, 'a')));
  EXPECT_FALSE(ScriptStore::valid_name("."));
  EXPECT_FALSE(ScriptStore::valid_name(".."));
  EXPECT_FALSE(ScriptStore::valid_name(".hidden"));
  EXPECT_FALSE(ScriptStore::valid_name("a/b"));
  EXPECT_FALSE(ScriptStore::valid_name("a\nb"));
  EXPECT_FALSE(ScriptStore::valid_name(std::string("a\0b", 3)));
  EXPECT_FALSE(ScriptStore::valid_name("a\x7F"));
  EXPECT_FALSE(ScriptStore::valid_name("a\xC2\x85"));        // U+0085 NEL
  EXPECT_FALSE(ScriptStore::valid_name("a\xE2\x80\xA8"));    // U+2028
  EXPECT_FALSE(ScriptStore::valid_name("bad\xFF"));          // not UTF-8
  EXPECT_FALSE(ScriptStore::valid_name("over\xC0\xAF"));     // overlong '/'
  EXPECT_FALSE(ScriptStore::valid_name("cut\xE2\x80"));      // truncated
  EXPECT_FALSE(ScriptStore::valid_name("sur\xED\xA0\x80"));  // surrogate
}

TEST_F(ScriptStoreTest, LayoutUnderTheMailbox) {
  auto s = store();
  EXPECT_EQ(s.dir_of(kUser), dir_.string() + "/mailboxes/example.test/alice/sieve");
  EXPECT_EQ(s.path_of(kUser, "x"), dir_.string() + "/mailboxes/example.test/alice/sieve/x.sieve");
}

TEST_F(ScriptStoreTest, PutGetListActivate) {
  auto s = store();
  ASSERT_TRUE(s.list(kUser).ok());
  EXPECT_TRUE(s.list(kUser)->empty());
  ASSERT_TRUE(s.put(kUser, "b", "keep;\r\n").ok());
  ASSERT_TRUE(s.put(kUser, "a", "discard;\r\n").ok());
  auto got = s.get(kUser, "b");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "keep;\r\n");
  EXPECT_EQ(s.get(kUser, "zz").error().code, Errc::NotFound);
  auto act = s.active(kUser);
  ASSERT_TRUE(act.ok());
  EXPECT_FALSE(act->has_value());
  ASSERT_TRUE(s.activate(kUser, "b").ok());
  EXPECT_EQ(**s.active(kUser), "b");
  auto l = s.list(kUser);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].name, "a");
  EXPECT_FALSE((*l)[0].active);
  EXPECT_EQ((*l)[0].size, 10u);
  EXPECT_EQ((*l)[1].name, "b");
  EXPECT_TRUE((*l)[1].active);
  EXPECT_EQ(s.activate(kUser, "nope").error().code, Errc::NotFound);
  EXPECT_EQ(**s.active(kUser), "b");
  ASSERT_TRUE(s.activate(kUser, "").ok());
  EXPECT_FALSE(s.active(kUser)->has_value());
  ASSERT_TRUE(s.activate(kUser, "").ok());  // twice is fine
  // Replacing keeps one entry; no temporary files are left behind.
  ASSERT_TRUE(s.put(kUser, "a", "stop;").ok());
  EXPECT_EQ(*s.get(kUser, "a"), "stop;");
  int files = 0;
  for (auto& e : fs::directory_iterator(s.dir_of(kUser))) {
    ++files;
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  }
  EXPECT_EQ(files, 2);
}

TEST_F(ScriptStoreTest, InvalidNameRefused) {
  auto s = store();
  EXPECT_EQ(s.put(kUser, "../evil", "keep;").error().code, Errc::Invalid);
  EXPECT_EQ(s.put(kUser, "", "keep;").error().code, Errc::Invalid);
  EXPECT_FALSE(fs::exists(dir_ / "mailboxes/example.test/alice/evil.sieve"));
}

TEST_F(ScriptStoreTest, Quota) {
  auto s = store(ScriptQuota{10, 2, 15});
  EXPECT_EQ(s.have_space(kUser, "a", 11), Space::TooBig);
  EXPECT_EQ(s.have_space(kUser, "a", 10), Space::Ok);
  ASSERT_TRUE(s.put(kUser, "a", "0123456789").ok());
  EXPECT_EQ(s.have_space(kUser, "b", 6), Space::Full);
  EXPECT_EQ(s.have_space(kUser, "a", 10), Space::Ok);  // replaces itself
  ASSERT_TRUE(s.put(kUser, "b", "01234").ok());
  EXPECT_EQ(s.have_space(kUser, "c", 0), Space::TooMany);
  EXPECT_EQ(s.have_space(kUser, "b", 5), Space::Ok);
  auto r = s.put(kUser, "c", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::OverQuota);
  EXPECT_EQ(s.put(kUser, "b", "0123456").error().code, Errc::OverQuota);
  EXPECT_EQ(*s.get(kUser, "b"), "01234");
}

TEST_F(ScriptStoreTest, RemoveAndRename) {
  auto s = store();
  ASSERT_TRUE(s.put(kUser, "a", "keep;").ok());
  ASSERT_TRUE(s.put(kUser, "b", "stop;").ok());
  ASSERT_TRUE(s.activate(kUser, "a").ok());
  EXPECT_EQ(s.remove(kUser, "a").error().code, Errc::Denied);
  EXPECT_EQ(s.remove(kUser, "zz").error().code, Errc::NotFound);
  EXPECT_EQ(s.rename(kUser, "a", "b").error().code, Errc::Exists);
  EXPECT_EQ(s.rename(kUser, "zz", "q").error().code, Errc::NotFound);
  EXPECT_EQ(s.rename(kUser, "a", "x/y").error().code, Errc::Invalid);
  ASSERT_TRUE(s.rename(kUser, "a", "c").ok());
  EXPECT_EQ(**s.active(kUser), "c");  // the active choice follows
  EXPECT_EQ(*s.get(kUser, "c"), "keep;");
  EXPECT_EQ(s.get(kUser, "a").error().code, Errc::NotFound);
  ASSERT_TRUE(s.remove(kUser, "b").ok());
  auto l = s.list(kUser);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].name, "c");
}

TEST_F(ScriptStoreTest, ActiveFileNamingAMissingScriptMeansNone) {
  auto s = store();
  ASSERT_TRUE(s.put(kUser, "a", "keep;").ok());
  std::ofstream(fs::path(s.dir_of(kUser)) / "active") << "gone\n";
  auto act = s.active(kUser);
  ASSERT_TRUE(act.ok());
  EXPECT_FALSE(act->has_value());
}

}  // namespace
}  // namespace mailfort::sieve
