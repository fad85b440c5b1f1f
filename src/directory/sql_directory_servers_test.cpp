// SqlDirectory against real MariaDB and PostgreSQL servers (the guide's
// schema from init_schema(), the upserts, flags, case rules, hostile input,
// [directory.queries] on a PostfixAdmin-shaped schema). The servers are
// those of sql/test_servers.h (started once per test binary, on first use);
// tests skip when the binaries are missing.
#include <gtest/gtest.h>

#include <chrono>

#include "directory/open.h"
#include "directory/password.h"
#include "sql/sql.h"
#include "sql/test_servers.h"

using namespace mailfort;
using namespace mailfort::sql;
using namespace mailfort::directory;
using namespace std::chrono_literals;
using mailfort::sql::testing::ServerTest;
using Kind = Resolution::Kind;
using Strings = std::vector<std::string>;

namespace {

constexpr const char* kPw = "Correct-Horse-9";
constexpr const char* kSha512 =
    "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
    "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

class DirServer : public ServerTest {
 protected:
  void SetUp() override {
    ServerTest::SetUp();
    if (IsSkipped()) return;
    pool_ = Pool::create(engine().options(), 2);
    ASSERT_TRUE(pool_->with([](Connection& c) {
      return c.execute_script(
          "DROP TABLE IF EXISTS mailfort_access, mailfort_account_settings, mailfort_domain_settings, "
          "aliases, "
          "accounts, tlspolicies, domains, alias, mailbox, domain");
    }));
  }
  void guide_schema() {
    for (int i = 0; i < 2; ++i)  // idempotent
      ASSERT_TRUE(pool_->with([](Connection& c) { return init_schema(c, true); }, false));
    auto d = open_sql(SqlDirectoryOptions{pool_, {}});
    ASSERT_TRUE(d.ok()) << d.error().message;
    d_ = std::move(d).value();
  }
  void script(const std::string& sql) {
    auto r = pool_->with([&](Connection& c) { return c.execute_script(sql); }, false);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  Resolution resolve(const std::string& a) {
    auto r = d_->resolve_recipient(a);
    EXPECT_TRUE(r.ok()) << a << ": " << (r ? "" : r.error().message);
    return r ? r.value() : Resolution{};
  }
  void account(const std::string& addr, bool enabled = true, bool send_only = false) {
    auto at = addr.find('@');
    auto r =
        d_->add_account(Account{addr.substr(0, at), addr.substr(at + 1), "", 0, enabled, send_only}, kPw);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Directory> d_;
};

TEST_P(DirServer, GuideSchemaEndToEnd) {
  guide_schema();
  ASSERT_TRUE(d_->add_domain("Example.TEST"));
  EXPECT_EQ(d_->add_domain("example.test").error().code, Errc::Exists);
  EXPECT_TRUE(d_->is_local_domain("EXAMPLE.test").value());
  EXPECT_EQ(d_->list_domains().value(), Strings{"example.test"});
  account("Alice@example.test");
  account("bob@example.test");
  account("off@example.test", false);
  account("robot@example.test", true, true);
  EXPECT_EQ(d_->add_account(Account{"alice", "example.test"}, kPw).error().code, Errc::Exists);
  EXPECT_EQ(d_->add_account(Account{"a", "nowhere.test"}, kPw).error().code, Errc::NotFound);
  EXPECT_TRUE(d_->authenticate("ALICE@example.test", kPw)->ok);
  EXPECT_FALSE(d_->authenticate("alice@example.test", "Wrong-Horse-99")->ok);
  EXPECT_FALSE(d_->authenticate("off@example.test", kPw)->ok);
  EXPECT_EQ(d_->list_accounts("example.test")->size(), 4u);
  EXPECT_EQ(resolve("x@other.test").kind, Kind::NotLocal);
  EXPECT_EQ(resolve("off@example.test").kind, Kind::Disabled);
  EXPECT_EQ(resolve("robot@example.test").kind, Kind::SendOnly);
  EXPECT_EQ(resolve("alice+x@example.test").mailboxes, Strings{"alice@example.test"});
  ASSERT_TRUE(d_->add_alias("team@example.test", "alice@example.test"));
  ASSERT_TRUE(d_->add_alias("team@example.test", "ext@remote.test"));
  EXPECT_EQ(d_->add_alias("team@example.test", "ext@remote.test").error().code, Errc::Exists);
  ASSERT_TRUE(d_->add_alias("@example.test", "bob@example.test"));
  EXPECT_EQ(d_->add_alias("@example.test", "bob@example.test").error().code, Errc::Exists);
  auto team = resolve("team@example.test");
  EXPECT_EQ(team.mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(team.forwards, Strings{"ext@remote.test"});
  EXPECT_EQ(resolve("random@example.test").mailboxes, Strings{"bob@example.test"});
  EXPECT_EQ(d_->sender_addresses("bob@example.test").value(), (Strings{"bob@example.test", "@example.test"}));
  EXPECT_EQ(d_->list_aliases("")->size(), 3u);
  ASSERT_TRUE(d_->remove_alias("@example.test", "bob@example.test"));
  EXPECT_EQ(resolve("random@example.test").kind, Kind::Unknown);
  ASSERT_TRUE(d_->set_enabled("off@example.test", true));
  EXPECT_TRUE(d_->authenticate("off@example.test", kPw)->ok);
  ASSERT_TRUE(d_->set_password("off@example.test", "Another-Horse-77"));
  EXPECT_TRUE(d_->authenticate("off@example.test", "Another-Horse-77")->ok);
  EXPECT_EQ(d_->ensure_postmaster("example.test").value(), std::optional<std::string>("alice@example.test"));
  EXPECT_EQ(resolve("postmaster@example.test").mailboxes, Strings{"alice@example.test"});

  // Upserts: TLS policies, settings, access, import_account.
  ASSERT_TRUE(d_->set_tls_policy({"gmx.de", "secure", "match=.gmx.net"}));
  ASSERT_TRUE(d_->set_tls_policy({"GMX.de", "dane-only", ""}));
  EXPECT_EQ(d_->find_tls_policy("gmx.de").value()->policy, "dane-only");
  EXPECT_EQ(d_->list_tls_policies()->size(), 1u);
  ASSERT_TRUE(d_->set_requires_tls("example.test", true));
  ASSERT_TRUE(d_->set_domain_send_limit("example.test", 40u));
  EXPECT_TRUE(d_->requires_tls("example.test").value());
  EXPECT_EQ(d_->domain_send_limit("example.test").value(), std::optional<uint32_t>(40));
  ASSERT_TRUE(d_->set_send_limit("alice@example.test", 5u));
  ASSERT_TRUE(d_->set_allow_any_from("alice@example.test", true));
  EXPECT_EQ(d_->send_limit("ALICE@example.test").value(), std::optional<uint32_t>(5));
  EXPECT_TRUE(d_->allows_any_from("alice@example.test").value());
  ASSERT_TRUE(d_->set_send_limit("alice@example.test", std::nullopt));
  EXPECT_FALSE(d_->send_limit("alice@example.test").value());
  EXPECT_TRUE(d_->allows_any_from("alice@example.test").value());
  EXPECT_FALSE(d_->allows_any_from("bob@example.test").value());
  ASSERT_TRUE(d_->set_domain_allow_any_from("example.test", true));
  EXPECT_TRUE(d_->allows_any_from("bob@example.test").value());
  ASSERT_TRUE(d_->add_access("192.0.2.0/24", AccessAction::Reject));
  ASSERT_TRUE(d_->add_access("192.0.2.0/24", AccessAction::Permit));
  ASSERT_EQ(d_->list_access()->size(), 1u);
  EXPECT_EQ(d_->list_access().value()[0].action, AccessAction::Permit);
  ASSERT_TRUE(d_->import_account(Account{"user1", "example.test", kSha512, 2048, true, false}));
  EXPECT_TRUE(d_->authenticate("user1@example.test", "Hello world!")->ok);
  ASSERT_TRUE(d_->import_account(Account{"user1", "example.test", kSha512, 10, false, false}));
  EXPECT_EQ(d_->find_account("user1@example.test").value()->quota_mb, 10u);
  EXPECT_FALSE(d_->authenticate("user1@example.test", "Hello world!")->ok);

  // Hostile input stays data.
  for (std::string local : {"o'brien", "a\"b", "back\\slash", "50%", "%", "a_b", "_", "\\'", "j\xc3\xb6rg"}) {
    std::string addr = local + "@example.test";
    auto f = d_->find_account(addr);
    ASSERT_TRUE(f.ok()) << addr << ": " << f.error().message;
    EXPECT_FALSE(f.value()) << addr;
    auto a = d_->authenticate(addr, kPw);
    ASSERT_TRUE(a.ok()) << addr << ": " << a.error().message;
    EXPECT_FALSE(a->ok);
    auto r = d_->resolve_recipient(addr);
    ASSERT_TRUE(r.ok()) << addr << ": " << r.error().message;
    EXPECT_EQ(r->kind, Kind::Unknown) << addr;
    auto l = d_->is_local_domain(local + ".test");
    ASSERT_TRUE(l.ok()) << l.error().message;
    EXPECT_FALSE(l.value());
  }
  account("j\xc3\xb6rg@example.test");
  EXPECT_EQ(resolve("j\xc3\xb6rg@example.test").mailboxes, Strings{"j\xc3\xb6rg@example.test"});

  ASSERT_TRUE(d_->remove_account("alice@example.test"));
  EXPECT_EQ(d_->remove_domain("example.test").error().code, Errc::Exists);
  EXPECT_FALSE(d_->unavailable());
}

TEST_P(DirServer, PostfixAdminQueries) {
  bool pg = GetParam() == Dialect::PostgreSQL;
  std::string bob = hash_password(kPw).value();
  script(std::string("CREATE TABLE domain (domain VARCHAR(255) PRIMARY KEY, active ") +
         (pg ? "BOOLEAN NOT NULL DEFAULT true" : "TINYINT(1) NOT NULL DEFAULT 1") +
         ");"
         "CREATE TABLE mailbox (username VARCHAR(255) PRIMARY KEY, password VARCHAR(255) NOT NULL, "
         "quota BIGINT NOT NULL DEFAULT 0, local_part VARCHAR(255) NOT NULL, domain VARCHAR(255) NOT NULL, "
         "active " +
         (pg ? "BOOLEAN NOT NULL DEFAULT true" : "TINYINT(1) NOT NULL DEFAULT 1") +
         ");"
         "CREATE TABLE alias (address VARCHAR(255) PRIMARY KEY, goto TEXT NOT NULL, domain VARCHAR(255) NOT "
         "NULL, "
         "active " +
         (pg ? "BOOLEAN NOT NULL DEFAULT true" : "TINYINT(1) NOT NULL DEFAULT 1") + ")");
  ASSERT_TRUE(pool_->with(
      [&](Connection& c) -> Result<void> {
        for (auto& [sql, ps] : std::vector<std::pair<std::string, Params>>{
                 {"INSERT INTO domain (domain) VALUES ('example.test')", {}},
                 {"INSERT INTO mailbox VALUES ('alice@example.test', :h, 1073741824, 'alice', "
                  "'example.test', :t)",
                  {{"h", kSha512}, {"t", "1"}}},
                 {"INSERT INTO mailbox VALUES ('bob@example.test', :h, 0, 'bob', 'example.test', :f)",
                  {{"h", bob}, {"f", "0"}}},
                 {"INSERT INTO alias VALUES ('alice@example.test', 'alice@example.test', 'example.test', :t)",
                  {{"t", "1"}}},
                 {"INSERT INTO alias VALUES ('team@example.test', 'alice@example.test,ext@remote.test', "
                  "'example.test', :t)",
                  {{"t", "1"}}},
                 {"INSERT INTO alias VALUES ('@example.test', 'alice@example.test', 'example.test', :t)",
                  {{"t", "1"}}}}) {
          auto r = c.execute(sql, ps);
          if (!r) return r.error();
        }
        return {};
      },
      false));
  config::DirectoryQueries q;
  std::string on = pg ? "true" : "1";
  q.domain = "SELECT 1 FROM domain WHERE domain = :domain AND active = " + on;
  q.user =
      "SELECT local_part, domain, password, quota / 1048576, active FROM mailbox WHERE username = :address";
  q.password = "SELECT password, active FROM mailbox WHERE username = :address";
  q.aliases = "SELECT goto FROM alias WHERE address = :address AND active = " + on;
  auto d = open_sql(SqlDirectoryOptions{pool_, q});
  ASSERT_TRUE(d.ok());
  d_ = std::move(d).value();
  EXPECT_TRUE(d_->authenticate("alice@example.test", "Hello world!")->ok);
  EXPECT_FALSE(d_->authenticate("bob@example.test", kPw)->ok);  // inactive
  EXPECT_EQ(d_->find_account("alice@example.test").value()->quota_mb, 1024u);
  EXPECT_EQ(resolve("alice@example.test").mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(resolve("bob@example.test").kind, Kind::Disabled);
  auto team = resolve("team@example.test");
  EXPECT_EQ(team.mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(team.forwards, Strings{"ext@remote.test"});
  EXPECT_EQ(resolve("random@example.test").mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(d_->add_domain("x.test").error().code, Errc::Perm);
  EXPECT_FALSE(d_->find_tls_policy("gmx.de").value());     // no tlspolicies table, no query: none
  EXPECT_FALSE(d_->requires_tls("example.test").value());  // no mailfort_* tables yet: defaults
  for (std::string local : {"o'brien", "50%", "a_b", "\\'"}) {
    auto r = d_->resolve_recipient(local + "@example.test");  // the catch-all
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->mailboxes, Strings{"alice@example.test"});
    EXPECT_FALSE(d_->find_account(local + "@example.test").value());
  }
}

TEST_P(DirServer, ServerGoneIsTemp) {
  guide_schema();
  ASSERT_TRUE(d_->add_domain("example.test"));
  auto o = engine().options();
  o.port = 1;  // nothing listens
  auto dir = open_sql(SqlDirectoryOptions{Pool::create(o, 1), {}});
  ASSERT_TRUE(dir.ok());
  EXPECT_EQ(dir.value()->is_local_domain("example.test").error().code, Errc::Temp);
  EXPECT_EQ(dir.value()->authenticate("a@example.test", kPw).error().code, Errc::Temp);
  EXPECT_TRUE(dir.value()->unavailable());
}

INSTANTIATE_TEST_SUITE_P(Engines, DirServer, ::testing::Values(Dialect::MySQL, Dialect::PostgreSQL),
                         [](const auto& info) { return std::string(dialect_name(info.param)); });

}  // namespace
