#include "base/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

using namespace mailfort;

namespace {

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mf-sqlite-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "t.sqlite").string(); }

  sqlite::Database open(sqlite::Database::Options o = {}) {
    auto db = sqlite::Database::open(path(), o);
    EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
    return std::move(db).value();
  }

  std::filesystem::path dir_;
};

}  // namespace

TEST(SqliteErrc, OneMapping) {
  EXPECT_EQ(sqlite::errc_of(SQLITE_BUSY), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_LOCKED), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_BUSY_SNAPSHOT), Errc::Temp);  // extended codes map by their primary
  EXPECT_EQ(sqlite::errc_of(SQLITE_IOERR_FSYNC), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_FULL), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_CANTOPEN), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_NOMEM), Errc::Temp);
  EXPECT_EQ(sqlite::errc_of(SQLITE_CONSTRAINT), Errc::Exists);
  EXPECT_EQ(sqlite::errc_of(SQLITE_CONSTRAINT_UNIQUE), Errc::Exists);
  EXPECT_EQ(sqlite::errc_of(SQLITE_ERROR), Errc::Perm);
  EXPECT_EQ(sqlite::errc_of(SQLITE_CORRUPT), Errc::Perm);
  EXPECT_EQ(sqlite::errc_of(SQLITE_NOTADB), Errc::Perm);
  EXPECT_EQ(sqlite::errc_of(SQLITE_READONLY), Errc::Perm);
}

TEST_F(SqliteTest, OpenExecBindStepColumns) {
  auto db = open({.wal = true, .synchronous_normal = true});
  ASSERT_TRUE(db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, data BLOB, n INTEGER)").ok());
  {
    auto ins = db.prepare("INSERT INTO t(name, data, n) VALUES(?, ?, ?)");
    ASSERT_TRUE(ins.ok());
    std::string bytes("a\0b", 3);
    EXPECT_TRUE(ins.bind(1, "first").bind_blob(2, bytes).bind(3, int64_t{1} << 40).run());
    EXPECT_EQ(db.changes(), 1);
    ins.reset();
    EXPECT_TRUE(ins.bind(1, std::string("second")).bind_null(2).bind_null(3).run());
  }
  auto q = db.prepare("SELECT name, data, n FROM t ORDER BY id");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "first");
  EXPECT_EQ(q.blob(1), std::string("a\0b", 3));
  EXPECT_EQ(q.i64(2), int64_t{1} << 40);
  EXPECT_FALSE(q.is_null(2));
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "second");
  EXPECT_EQ(q.blob(1), "");
  EXPECT_TRUE(q.is_null(2));
  EXPECT_FALSE(q.step());
  EXPECT_TRUE(q.done());

  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode.step());
  EXPECT_EQ(mode.text(0), "wal");
}

TEST_F(SqliteTest, ErrorsAreMapped) {
  auto db = open();
  ASSERT_TRUE(db.exec("CREATE TABLE t(k TEXT PRIMARY KEY)").ok());
  auto bad = db.exec("SELECT * FROM nowhere");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::Perm);
  EXPECT_NE(bad.error().message.find("nowhere"), std::string::npos);

  // A statement that does not prepare fails its step with that error.
  auto none = db.prepare("SELECT nope FROM t");
  EXPECT_FALSE(none.ok());
  EXPECT_FALSE(none.step());
  EXPECT_FALSE(none.done());
  EXPECT_EQ(none.error("select").code, Errc::Perm);
  EXPECT_EQ(none.error("select").message.rfind("select: ", 0), 0u);

  ASSERT_TRUE(db.prepare("INSERT INTO t VALUES('x')").run());
  auto dup = db.prepare("INSERT INTO t VALUES('x')");
  EXPECT_FALSE(dup.run());
  EXPECT_EQ(dup.error("insert").code, Errc::Exists);
  EXPECT_EQ(db.error("insert").code, Errc::Exists);

  auto missing = sqlite::Database::open((dir_ / "no" / "such" / "dir.sqlite").string(), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::Temp);  // CANTOPEN
  auto nocreate = sqlite::Database::open((dir_ / "absent.sqlite").string(), {.create = false});
  EXPECT_FALSE(nocreate.ok());
}

TEST_F(SqliteTest, CachedStatementsAreReusedAndReset) {
  auto db = open();
  ASSERT_TRUE(db.exec("CREATE TABLE t(v INTEGER); INSERT INTO t VALUES(1),(2),(3)").ok());
  const char* sql = "SELECT v FROM t WHERE v >= ? ORDER BY v";
  {
    auto q = db.cached(sql);
    ASSERT_TRUE(q.ok());
    q.bind(1, 2);
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.i64(0), 2);
    // Left mid-result: going out of scope resets it (and ends its read).
  }
  {
    auto q = db.cached(sql);
    q.bind(1, 1);
    std::vector<int64_t> got;
    while (q.step()) got.push_back(q.i64(0));
    EXPECT_TRUE(q.done());
    EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 3}));
  }
  // A reset statement holds no read: another connection can write.
  auto other = open();
  EXPECT_TRUE(other.exec("INSERT INTO t VALUES(4)").ok());
  auto bad = db.cached("SELECT x FROM nowhere");
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(bad.step());
  EXPECT_EQ(bad.error("cached").code, Errc::Perm);
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  auto db = open({.wal = true});
  ASSERT_TRUE(db.exec("CREATE TABLE t(v INTEGER)").ok());
  {
    sqlite::Transaction tx(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.prepare("INSERT INTO t VALUES(1)").run());
  }
  {
    sqlite::Transaction tx(db);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(db.prepare("INSERT INTO t VALUES(2)").run());
    EXPECT_TRUE(tx.commit());
  }
  auto q = db.prepare("SELECT group_concat(v) FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.text(0), "2");
}

TEST_F(SqliteTest, BusyWriterIsTemp) {
  auto a = open({.busy_timeout_ms = 50, .wal = true});
  ASSERT_TRUE(a.exec("CREATE TABLE t(v INTEGER)").ok());
  auto b = open({.busy_timeout_ms = 50});
  sqlite::Transaction hold(a);
  ASSERT_TRUE(hold.ok());
  sqlite::Transaction second(b);  // waits 50 ms for the write lock, then gives up
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(b.error("begin").code, Errc::Temp);
  auto w = b.prepare("INSERT INTO t VALUES(1)");
  EXPECT_FALSE(w.run());
  EXPECT_EQ(w.error("insert").code, Errc::Temp);
}

TEST_F(SqliteTest, MoveKeepsTheConnectionAndItsCache) {
  auto a = open();
  ASSERT_TRUE(a.exec("CREATE TABLE t(v INTEGER); INSERT INTO t VALUES(7)").ok());
  { auto q = a.cached("SELECT v FROM t"); }
  sqlite::Database b = std::move(a);
  EXPECT_FALSE(a.is_open());
  ASSERT_TRUE(b.is_open());
  auto q = b.cached("SELECT v FROM t");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.i64(0), 7);
}
