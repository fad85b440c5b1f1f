// connect_sqlite(): the SQLite Connection (no server needed).
#include <gtest/gtest.h>

#include <filesystem>

#include "sql/engines.h"

using namespace mailfort;
using namespace mailfort::sql;

namespace {

struct SqliteConn : ::testing::Test {
  std::filesystem::path dir;
  std::unique_ptr<Connection> c;
  void SetUp() override {
    char tmpl[] = "/tmp/mf-sqlconn-XXXXXX";
    dir = ::mkdtemp(tmpl);
    ConnectOptions o;
    o.path = (dir / "t.sqlite").string();
    auto r = connect_sqlite(o);
    ASSERT_TRUE(r.ok()) << r.error().message;
    c = std::move(r).value();
    ASSERT_TRUE(c->execute_script(
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE, n INTEGER, "
        "flag BOOLEAN DEFAULT 0 CHECK (n IS NULL OR n >= 0));"
        "CREATE TABLE k (pid INTEGER NOT NULL REFERENCES p(id));"));
  }
  void TearDown() override {
    c.reset();
    std::filesystem::remove_all(dir);
  }
};

TEST_F(SqliteConn, NamedParametersRowsAndNulls) {
  EXPECT_EQ(c->dialect(), Dialect::SQLite);
  EXPECT_TRUE(c->usable());
  auto n = c->execute("INSERT INTO p (name, n, flag) VALUES (:name, :n, :flag)",
                      {{"name", "a"}, {"n", "5"}, {"flag", "1"}});
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n.value(), 1u);
  ASSERT_TRUE(c->execute("INSERT INTO p (name, n) VALUES (:name, :n)", {{"name", "b"}, {"n", std::nullopt}}));
  // The same name twice, a literal with a colon, extra parameters ignored.
  auto rows = c->query(
      "SELECT name, n, flag, 'x:y' FROM p WHERE name = :who OR (:who = '' AND name = 'b') ORDER BY id",
      {{"who", ""}, {"unused", "z"}});
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "b");
  EXPECT_FALSE((*rows)[0][1]);  // NULL
  EXPECT_EQ((*rows)[0][2], "0");
  EXPECT_EQ((*rows)[0][3], "x:y");
  rows = c->query("SELECT n, flag FROM p WHERE name = :who", {{"who", "a"}});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0][0], "5");
  EXPECT_EQ((*rows)[0][1], "1");
  // Cached statements run again with new values.
  for (int i = 0; i < 3; ++i) {
    rows = c->query("SELECT name FROM p WHERE name = :who", {{"who", i % 2 ? "a" : "b"}});
    ASSERT_TRUE(rows.ok());
    EXPECT_EQ((*rows)[0][0], i % 2 ? "a" : "b");
  }
  EXPECT_EQ(c->execute("UPDATE p SET n = n + 1", {}).value(), 2u);
  EXPECT_EQ(c->execute("DELETE FROM p WHERE name = :n", {{"n", "nobody"}}).value(), 0u);
}

TEST_F(SqliteConn, ErrorsMapped) {
  ASSERT_TRUE(c->execute("INSERT INTO p (name) VALUES (:name)", {{"name", "a"}}));
  EXPECT_EQ(c->execute("INSERT INTO p (name) VALUES (:name)", {{"name", "a"}}).error().code, Errc::Exists);
  EXPECT_EQ(c->execute("INSERT INTO p (name, n) VALUES (:name, -1)", {{"name", "c"}}).error().code,
            Errc::Invalid);                                                                     // CHECK
  EXPECT_EQ(c->execute("INSERT INTO p (name) VALUES (NULL)", {}).error().code, Errc::Invalid);  // NOT NULL
  EXPECT_EQ(c->execute("INSERT INTO k (pid) VALUES (999)", {}).error().code, Errc::Invalid);    // foreign key
  EXPECT_EQ(c->query("SELEC 1", {}).error().code, Errc::Invalid);
  EXPECT_EQ(c->query("SELECT * FROM nowhere", {}).error().code, Errc::Invalid);
  EXPECT_EQ(c->query("SELECT :missing", {}).error().code, Errc::Invalid);  // no value for a name
  EXPECT_TRUE(c->usable());
  EXPECT_TRUE(c->query("SELECT 1", {}).ok());
}

TEST_F(SqliteConn, HostileValuesStayData) {
  for (std::string v :
       std::vector<std::string>{"o'brien", "a\"b", "back\\slash", "50%", "a_b", "x'; DROP TABLE p; --",
                                "j\xc3\xb6rg", std::string("nul\0byte", 8)}) {
    ASSERT_TRUE(c->execute("INSERT INTO p (name) VALUES (:v)", {{"v", v}})) << v;
    auto rows = c->query("SELECT name FROM p WHERE name = :v", {{"v", v}});
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u) << v;
    EXPECT_EQ((*rows)[0][0], v);
  }
  EXPECT_EQ(c->query("SELECT name FROM p", {})->size(), 8u);
}

TEST_F(SqliteConn, TransactionsAndBusy) {
  ASSERT_TRUE(c->begin());
  ASSERT_TRUE(c->execute("INSERT INTO p (name) VALUES ('t')", {}));
  ASSERT_TRUE(c->rollback());
  EXPECT_TRUE(c->query("SELECT 1 FROM p WHERE name = 't'", {})->empty());
  ASSERT_TRUE(c->begin());
  ASSERT_TRUE(c->execute("INSERT INTO p (name) VALUES ('t')", {}));
  ASSERT_TRUE(c->commit());
  EXPECT_EQ(c->query("SELECT 1 FROM p WHERE name = 't'", {})->size(), 1u);
  // WAL and foreign keys are on.
  EXPECT_EQ(c->query("PRAGMA journal_mode", {}).value()[0][0], "wal");
  EXPECT_EQ(c->query("PRAGMA foreign_keys", {}).value()[0][0], "1");
}

TEST(SqliteConnOpen, UnopenableFileIsAnError) {
  ConnectOptions o;
  o.path = "/nonexistent-dir/x/y.sqlite";
  auto r = connect_sqlite(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent-dir/x/y.sqlite"), std::string::npos);
}

}  // namespace
