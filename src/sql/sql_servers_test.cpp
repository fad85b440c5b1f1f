// The MariaDB and PostgreSQL drivers and the Pool against real servers
// (sql/test_servers.h: each started once per test binary, on first use; the
// tests skip when the server binaries are missing).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "sql/engines.h"
#include "sql/sql.h"
#include "sql/test_servers.h"

using namespace mailfort;
using namespace mailfort::sql;
using namespace std::chrono_literals;
using mailfort::sql::testing::ServerTest;

namespace mailfort::sql {
void PrintTo(Dialect d, std::ostream* os) {  // test names and messages
  *os << dialect_name(d);
}
}  // namespace mailfort::sql

namespace {

class SqlServer : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (IsSkipped()) return;
    auto c = connect(engine().options());
    ASSERT_TRUE(c.ok()) << c.error().message;
    conn_ = std::move(*c);
  }
  // A fresh table.
  std::string table(const std::string& columns) {
    static int n = 0;
    std::string name = "t_" + std::to_string(++n);
    auto r = conn_->execute_script("DROP TABLE IF EXISTS " + name + "; CREATE TABLE " + name + " (" +
                                   columns + ")");
    EXPECT_TRUE(r.ok()) << r.error().message;
    return name;
  }
  std::vector<Row> q(std::string_view sql, const Params& ps = {}) {
    auto r = conn_->query(sql, ps);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().message;
    return r ? *r : std::vector<Row>{};
  }
  uint64_t x(std::string_view sql, const Params& ps = {}) {
    auto r = conn_->execute(sql, ps);
    EXPECT_TRUE(r.ok()) << sql << ": " << r.error().message;
    return r ? *r : ~uint64_t{0};
  }
  // The checks: two tests run them in turn (ctest runs each test in a
  // process of its own, and each process starts its server).
  void ConnectsWithPasswordOnly();
  void ValuesStayData();
  void NulInValues();
  void ExecuteCountsAndExists();
  void Transactions();
  void StatementsArePreparedOnce();
  void RepeatedNamesAndScripts();
  void QueryTimeout();
  void TlsModes();
  void PoolWaitsForAFreeConnection();
  void PoolEndsAFailedTransaction();
  void PoolRidesOutARestart();
  std::unique_ptr<Connection> conn_;
};

const char* kKv = "k VARCHAR(190) NOT NULL UNIQUE, v TEXT NULL";

void SqlServer::ConnectsWithPasswordOnly() {
  EXPECT_EQ(conn_->dialect(), GetParam());
  EXPECT_TRUE(conn_->usable());
  auto o = engine().options();
  o.password = "wrong";
  auto c = connect(o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, Errc::Perm) << c.error().message;
  EXPECT_EQ(c.error().message.find("wrong"), std::string::npos);
}

void SqlServer::ValuesStayData() {
  auto t = table(kKv);
  std::vector<std::string> values{"it's",     "back\\slash",         "100%",   "a_b",
                                  "quo\"ted", "Grüße ✉ 😀",           ":colon", "semi; -- x /*",
                                  "$1 ? :k",  std::string(5000, 'L')};
  for (std::size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(x("INSERT INTO " + t + " (k, v) VALUES (:k, :v)",
                {{"k", "key" + std::to_string(i)}, {"v", values[i]}}),
              1u);
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto rows = q("SELECT v, k FROM " + t + " WHERE k = :k", {{"k", "key" + std::to_string(i)}});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], values[i]);
    // ...and as a key: '%' and '_' match only themselves with '='.
    x("UPDATE " + t + " SET k = :v WHERE k = :k",
      {{"k", "key" + std::to_string(i)}, {"v", values[i].substr(0, 190)}});
    EXPECT_EQ(q("SELECT k FROM " + t + " WHERE k = :k", {{"k", values[i].substr(0, 190)}}).size(), 1u)
        << values[i];
  }
  // NULL both ways.
  EXPECT_EQ(x("INSERT INTO " + t + " (k, v) VALUES (:k, :v)", {{"k", "null"}, {"v", std::nullopt}}), 1u);
  auto rows = q("SELECT v, NULL, COUNT(*) FROM " + t + " WHERE k = :k GROUP BY v", {{"k", "null"}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], std::nullopt);
  EXPECT_EQ(rows[0][1], std::nullopt);
  EXPECT_EQ(rows[0][2], "1");
  EXPECT_TRUE(q("SELECT v FROM " + t + " WHERE v = :v", {{"v", std::nullopt}}).empty());
}

void SqlServer::NulInValues() {
  auto t = table(kKv);
  std::string nul("a\0b", 3);
  auto r = conn_->execute("INSERT INTO " + t + " (k, v) VALUES (:k, :v)", {{"k", "nul"}, {"v", nul}});
  if (GetParam() == Dialect::PostgreSQL) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::Invalid);
    EXPECT_NE(r.error().message.find("NUL"), std::string::npos);
    EXPECT_TRUE(conn_->usable());
    return;
  }
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto rows = q("SELECT v FROM " + t + " WHERE v = :v", {{"v", nul}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0], nul);
  EXPECT_TRUE(q("SELECT v FROM " + t + " WHERE v = :v", {{"v", "a"}}).empty());
}

void SqlServer::ExecuteCountsAndExists() {
  auto t = table(kKv);
  for (const char* k : {"a1", "a2", "b1"}) x("INSERT INTO " + t + " (k, v) VALUES (:k, 'x')", {{"k", k}});
  EXPECT_EQ(x("UPDATE " + t + " SET v = :v WHERE k LIKE :p", {{"v", "y"}, {"p", "a%"}}), 2u);
  // Rows matched, also when the values did not change (as on SQLite).
  EXPECT_EQ(x("UPDATE " + t + " SET v = :v WHERE k LIKE :p", {{"v", "y"}, {"p", "a%"}}), 2u);
  EXPECT_EQ(x("UPDATE " + t + " SET v = 'z' WHERE k = 'nope'"), 0u);
  auto dup = conn_->execute("INSERT INTO " + t + " (k, v) VALUES (:k, NULL)", {{"k", "a1"}});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, Errc::Exists) << dup.error().message;
  auto null = conn_->execute("INSERT INTO " + t + " (k, v) VALUES (:k, NULL)", {{"k", std::nullopt}});
  ASSERT_FALSE(null.ok());
  EXPECT_EQ(null.error().code, Errc::Invalid) << null.error().message;
  auto syntax = conn_->query("SELEC 1", {});
  ASSERT_FALSE(syntax.ok());
  EXPECT_EQ(syntax.error().code, Errc::Invalid) << syntax.error().message;
  auto missing = conn_->query("SELECT k FROM " + t + " WHERE k = :k", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::Invalid);
  auto no_table = conn_->query("SELECT k FROM no_such_table", {});
  ASSERT_FALSE(no_table.ok());
  EXPECT_EQ(no_table.error().code, Errc::Perm);
  EXPECT_TRUE(conn_->usable());
  EXPECT_EQ(x("DELETE FROM " + t + " WHERE k LIKE 'a%'"), 2u);
  EXPECT_EQ(q("SELECT COUNT(*) FROM " + t)[0][0], "1");
}

void SqlServer::Transactions() {
  auto t = table(kKv);
  ASSERT_TRUE(conn_->begin().ok());
  x("INSERT INTO " + t + " (k) VALUES (:k)", {{"k", "gone"}});
  EXPECT_EQ(q("SELECT k FROM " + t).size(), 1u);
  ASSERT_TRUE(conn_->rollback().ok());
  EXPECT_TRUE(q("SELECT k FROM " + t).empty());
  ASSERT_TRUE(conn_->begin().ok());
  x("INSERT INTO " + t + " (k) VALUES (:k)", {{"k", "kept"}});
  ASSERT_TRUE(conn_->commit().ok());
  auto other = connect(engine().options());
  ASSERT_TRUE(other.ok());
  auto rows = (*other)->query("SELECT k FROM " + t, {});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0][0], "kept");
}

void SqlServer::StatementsArePreparedOnce() {
  // The server's own count of prepared statements for this session.
  const char* count = GetParam() == Dialect::MySQL ? "SHOW SESSION STATUS LIKE 'Com_stmt_prepare'"
                                                   : "SELECT 'n', COUNT(*) FROM pg_prepared_statements";
  auto prepares = [&] {
    auto rows = q(count);
    return rows.empty() ? std::string("?") : rows[0][1].value_or("NULL");
  };
  q("SELECT :a", {{"a", "1"}});
  prepares();  // prepares the counting statement itself
  auto before = prepares();
  for (int i = 0; i < 20; ++i) {
    auto rows = q("SELECT :a", {{"a", std::to_string(i)}});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0][0], std::to_string(i));
  }
  EXPECT_EQ(prepares(), before);
}

void SqlServer::RepeatedNamesAndScripts() {
  auto rows = q("SELECT :a, :b, :a", {{"a", "x"}, {"b", "y"}});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (Row{"x", "y", "x"}));
  auto t = table(kKv);
  ASSERT_TRUE(conn_
                  ->execute_script("INSERT INTO " + t + " (k) VALUES ('s1'); INSERT INTO " + t +
                                   " (k) VALUES ('s2;'); -- done")
                  .ok());
  EXPECT_EQ(q("SELECT COUNT(*) FROM " + t)[0][0], "2");
  auto bad = conn_->execute_script("INSERT INTO " + t + " (k) VALUES ('s3'); SELEC 1");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::Invalid) << bad.error().message;
  EXPECT_TRUE(conn_->usable());
  EXPECT_EQ(q("SELECT 1")[0][0], "1");  // the connection is in sync after the error
}

void SqlServer::QueryTimeout() {
  auto o = engine().options();
  o.query_timeout = 1s;
  auto c = connect(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const char* sleep =
      GetParam() == Dialect::MySQL ? "SELECT SLEEP(:s)" : "SELECT pg_sleep(CAST(:s AS float8))";
  auto t0 = std::chrono::steady_clock::now();
  auto r = (*c)->query(sleep, {{"s", "5"}});
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Temp) << r.error().message;
  EXPECT_LT(took, 3s);
  // PostgreSQL cancels the statement (the connection stays); MySQL's socket
  // read timed out (the connection is gone).
  EXPECT_EQ((*c)->usable(), GetParam() == Dialect::PostgreSQL) << r.error().message;
}

void SqlServer::TlsModes() {
  if (!engine().tls) {
    std::cout << "[ skip   ] TLS: no certificates (openssl missing?)\n";
    return;
  }
  const char* encrypted = GetParam() == Dialect::MySQL
                              ? "SHOW SESSION STATUS LIKE 'Ssl_cipher'"
                              : "SELECT 'ssl', ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
  auto tls_of = [&](Connection& c) {
    auto rows = c.query(encrypted, {});
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows && rows->size() == 1 ? (*rows)[0][1].value_or("") : std::string("?");
  };
  // MySQL: the cipher's name; PostgreSQL: t.
  auto is_encrypted = [&](const std::string& v) {
    std::cout << "[ tls    ] " << dialect_name(GetParam()) << ": " << v << "\n";
    return GetParam() == Dialect::MySQL ? !v.empty() && v != "?" : v == "t";
  };
  using Tls = ConnectOptions::Tls;
  auto o = engine().options();
  o.tls = Tls::Require;
  auto c = connect(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(is_encrypted(tls_of(**c)));
  o.tls = Tls::Verify;
  o.tls_ca_file = (engine().dir / "ca.crt").string();
  c = connect(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(is_encrypted(tls_of(**c)));
  o.tls_ca_file = (engine().dir / "other-ca.crt").string();
  c = connect(o);
  EXPECT_FALSE(c.ok()) << "verified against the wrong CA";
  if (GetParam() == Dialect::PostgreSQL) {  // the name is checked too (the certificate is for 127.0.0.1)
    o.tls_ca_file = (engine().dir / "ca.crt").string();
    o.host = "localhost";
    c = connect(o);
    EXPECT_FALSE(c.ok()) << "verified a certificate for another name";
  }
  o = engine().options();
  c = connect(o);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(tls_of(**c), GetParam() == Dialect::MySQL ? "" : "f");
}

void SqlServer::PoolWaitsForAFreeConnection() {
  auto pool = Pool::create(engine().options(), 1, 300ms);
  std::atomic<bool> holding{false};
  std::thread holder([&] {
    auto r = pool->with([&](Connection&) -> Result<void> {
      holding = true;
      std::this_thread::sleep_for(1500ms);  // well past the 300 ms the other call waits
      return {};
    });
    EXPECT_TRUE(r.ok());
  });
  while (!holding) std::this_thread::sleep_for(5ms);
  auto t0 = std::chrono::steady_clock::now();
  auto r = pool->with([](Connection&) -> Result<void> { return {}; });
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Temp);
  EXPECT_NE(r.error().message.find("busy"), std::string::npos) << r.error().message;
  EXPECT_GE(waited, 280ms);
  EXPECT_LT(waited, 1200ms);
  holder.join();
  EXPECT_TRUE(pool->with([](Connection&) -> Result<void> { return {}; }).ok());

  // Bounded: more threads than connections all get through.
  auto pool2 = Pool::create(engine().options(), 2, 5s);
  std::atomic<int> good{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        auto rows = pool2->run<std::vector<Row>>([&](Connection& c) {
          return c.query("SELECT :i", {{"i", std::to_string(i * 100 + j)}});
        });
        if (rows && rows->size() == 1 && (*rows)[0][0] == std::to_string(i * 100 + j)) ++good;
      }
    });
  for (auto& th : ts) th.join();
  EXPECT_EQ(good, 40);
  EXPECT_TRUE(pool2->healthy());
}

void SqlServer::PoolEndsAFailedTransaction() {
  auto t = table(kKv);
  auto pool = Pool::create(engine().options(), 1, 1s);
  auto r = pool->with([&](Connection& c) -> Result<void> {
    if (auto b = c.begin(); !b) return b;
    if (auto i = c.execute("INSERT INTO " + t + " (k) VALUES ('pending')", {}); !i) return i.error();
    auto dup = c.execute("INSERT INTO " + t + " (k) VALUES ('pending')", {});
    if (!dup) return dup.error();
    return {};
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Exists);
  // The same (only) connection: rolled back, not stuck in the transaction.
  auto n =
      pool->run<std::vector<Row>>([&](Connection& c) { return c.query("SELECT COUNT(*) FROM " + t, {}); });
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ((*n)[0][0], "0");
}

void SqlServer::PoolRidesOutARestart() {
  auto pool = Pool::create(engine().options(), 2, 1s);
  auto select = [](Connection& c) -> Result<void> {
    auto r = c.query("SELECT 1", {});
    if (!r) return r.error();
    return {};
  };
  ASSERT_TRUE(pool->with(select).ok());
  EXPECT_TRUE(pool->healthy());
  EXPECT_EQ(pool->last_error(), "");

  engine().stop();
  auto t0 = std::chrono::steady_clock::now();
  auto first = pool->with(select);  // the idle connection is dead; the retry cannot connect
  auto first_took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.error().code, Errc::Temp) << first.error().message;
  EXPECT_FALSE(pool->healthy());
  EXPECT_NE(pool->last_error(), "");

  t0 = std::chrono::steady_clock::now();
  auto during = pool->with(select);  // in the backoff: at once
  auto during_took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(during.ok());
  EXPECT_EQ(during.error().code, Errc::Temp);
  EXPECT_NE(during.error().message.find("next attempt"), std::string::npos) << during.error().message;
  EXPECT_LT(during_took, 1s);
  auto us = [](auto d) { return std::chrono::duration_cast<std::chrono::microseconds>(d).count(); };
  std::cout << "[ timing ] " << dialect_name(GetParam()) << " server down: first call failed in "
            << us(first_took) << " us, a call during the backoff in " << us(during_took)
            << " us: " << during.error().message << "\n";

  ASSERT_TRUE(engine().start()) << engine().why;
  auto end = std::chrono::steady_clock::now() + 15s;
  Result<void> r = during;
  while (!r && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(50ms);
    r = pool->with(select);
  }
  EXPECT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(pool->healthy());
}

TEST_P(SqlServer, Connection) {
  {
    SCOPED_TRACE("ConnectsWithPasswordOnly");
    ConnectsWithPasswordOnly();
  }
  {
    SCOPED_TRACE("ValuesStayData");
    ValuesStayData();
  }
  {
    SCOPED_TRACE("NulInValues");
    NulInValues();
  }
  {
    SCOPED_TRACE("ExecuteCountsAndExists");
    ExecuteCountsAndExists();
  }
  {
    SCOPED_TRACE("Transactions");
    Transactions();
  }
  {
    SCOPED_TRACE("StatementsArePreparedOnce");
    StatementsArePreparedOnce();
  }
  {
    SCOPED_TRACE("RepeatedNamesAndScripts");
    RepeatedNamesAndScripts();
  }
  {
    SCOPED_TRACE("QueryTimeout");
    QueryTimeout();
  }
  {
    SCOPED_TRACE("TlsModes");
    TlsModes();
  }
}

TEST_P(SqlServer, Pool) {
  {
    SCOPED_TRACE("PoolWaitsForAFreeConnection");
    PoolWaitsForAFreeConnection();
  }
  {
    SCOPED_TRACE("PoolEndsAFailedTransaction");
    PoolEndsAFailedTransaction();
  }
  {
    SCOPED_TRACE("PoolRidesOutARestart");
    PoolRidesOutARestart();
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlServer, ::testing::Values(Dialect::MySQL, Dialect::PostgreSQL),
                         [](const auto& info) { return std::string(dialect_name(info.param)); });

}  // namespace
