// SqlDirectory beyond the module test: [directory.queries] on a
// PostfixAdmin-shaped schema, hostile addresses, import_account, the cache,
// a server that is down, connect_options().
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/sqlite.h"
#include "directory/open.h"
#include "directory/password.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::directory;
using Kind = Resolution::Kind;
using Strings = std::vector<std::string>;

namespace {

constexpr const char* kPw = "Correct-Horse-9";
// From Drepper's SHA-crypt specification: "Hello world!", as doveadm pw -s
// SHA512-CRYPT writes it.
constexpr const char* kSha512 =
    "{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
    "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";

struct TempDir {
  fs::path dir;
  TempDir() {
    char tmpl[] = "/tmp/mf-sqldir-XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

void exec(const std::string& path, const std::string& sql) {
  auto db = sqlite::Database::open(path, {});
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto r = db->exec(sql.c_str());
  ASSERT_TRUE(r.ok()) << r.error().message;
}

std::unique_ptr<Directory> open_sqlite_queries(const std::string& path, const config::DirectoryQueries& q) {
  sql::ConnectOptions o;
  o.path = path;
  auto d = open_sql(SqlDirectoryOptions{sql::Pool::create(o, 4), q});
  EXPECT_TRUE(d.ok()) << d.error().message;
  return d ? std::move(d).value() : nullptr;
}

// ---- PostfixAdmin ----

struct PostfixAdmin : ::testing::Test {
  TempDir tmp;
  std::unique_ptr<Directory> d;
  std::string path() const { return tmp.file("postfixadmin.sqlite"); }
  void SetUp() override {
    std::string bob = hash_password(kPw).value();
    exec(path(), std::string(R"sql(
CREATE TABLE domain (domain VARCHAR(255) PRIMARY KEY, active TINYINT NOT NULL DEFAULT 1);
CREATE TABLE mailbox (username VARCHAR(255) PRIMARY KEY, password VARCHAR(255) NOT NULL, name VARCHAR(255),
  maildir VARCHAR(255), quota BIGINT NOT NULL DEFAULT 0, local_part VARCHAR(255) NOT NULL,
  domain VARCHAR(255) NOT NULL, active TINYINT NOT NULL DEFAULT 1);
CREATE TABLE alias (address VARCHAR(255) PRIMARY KEY, goto TEXT NOT NULL, domain VARCHAR(255) NOT NULL,
  active TINYINT NOT NULL DEFAULT 1);
INSERT INTO domain VALUES ('example.test', 1), ('old.test', 0);
INSERT INTO mailbox VALUES ('alice@example.test', ')sql") +
                     kSha512 + R"sql(', 'Alice', 'example.test/alice/',
  1073741824, 'alice', 'example.test', 1);
INSERT INTO mailbox VALUES ('bob@example.test', ')sql" +
                     bob + R"sql(', 'Bob', 'example.test/bob/', 0, 'bob',
  'example.test', 1);
INSERT INTO mailbox VALUES ('carol@example.test', ')sql" +
                     bob + R"sql(', 'Carol', 'example.test/carol/', 0,
  'carol', 'example.test', 0);
INSERT INTO alias VALUES ('alice@example.test', 'alice@example.test', 'example.test', 1);
INSERT INTO alias VALUES ('bob@example.test', 'bob@example.test', 'example.test', 1);
INSERT INTO alias VALUES ('carol@example.test', 'carol@example.test', 'example.test', 1);
INSERT INTO alias VALUES ('team@example.test', 'alice@example.test, bob@example.test,ext@remote.test',
  'example.test', 1);
INSERT INTO alias VALUES ('off@example.test', 'alice@example.test', 'example.test', 0);
INSERT INTO alias VALUES ('copy@example.test', 'bob@example.test,copy@example.test', 'example.test', 1);
)sql");
    config::DirectoryQueries q;
    q.domain = "SELECT 1 FROM domain WHERE domain = :domain AND active = 1";
    q.user =
        "SELECT local_part, domain, password, quota / 1048576, active FROM mailbox WHERE username = :address";
    q.password = "SELECT password, active FROM mailbox WHERE username = :address";
    q.aliases = "SELECT goto FROM alias WHERE address = :address AND active = 1";
    d = open_sqlite_queries(path(), q);
    ASSERT_TRUE(d);
  }
  Resolution resolve(const std::string& a) {
    auto r = d->resolve_recipient(a);
    EXPECT_TRUE(r.ok()) << a << ": " << (r ? "" : r.error().message);
    return r ? r.value() : Resolution{};
  }
};

TEST_F(PostfixAdmin, LoginLookupsAndAliases) {
  EXPECT_TRUE(d->is_local_domain("Example.TEST").value());
  EXPECT_FALSE(d->is_local_domain("old.test").value());  // inactive
  EXPECT_EQ(resolve("x@old.test").kind, Kind::NotLocal);

  // Logins: SHA512-CRYPT as doveadm writes it, ARGON2ID, inactive refused.
  EXPECT_TRUE(d->authenticate("alice@example.test", "Hello world!")->ok);
  EXPECT_TRUE(d->authenticate("Alice@Example.test", "Hello world!")->ok);
  EXPECT_FALSE(d->authenticate("alice@example.test", "Hello world")->ok);
  auto bob = d->authenticate("bob@example.test", kPw);
  ASSERT_TRUE(bob->ok);
  EXPECT_EQ(bob->account->address(), "bob@example.test");
  EXPECT_FALSE(d->authenticate("carol@example.test", kPw)->ok);
  EXPECT_FALSE(d->authenticate("ghost@example.test", kPw)->ok);

  auto alice = d->find_account("alice@example.test").value();
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->address(), "alice@example.test");
  EXPECT_EQ(alice->quota_mb, 1024u);  // bytes in PostfixAdmin, MB through the query
  EXPECT_FALSE(d->find_account("nobody@example.test").value());

  // The mailbox's alias to itself is the mailbox.
  auto a = resolve("alice@example.test");
  EXPECT_EQ(a.kind, Kind::Deliver);
  EXPECT_EQ(a.mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(resolve("alice+tag@example.test").mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(resolve("carol@example.test").kind, Kind::Disabled);
  // A comma-separated goto.
  auto team = resolve("team@example.test");
  EXPECT_EQ(team.mailboxes, (Strings{"alice@example.test", "bob@example.test"}));
  EXPECT_EQ(team.forwards, Strings{"ext@remote.test"});
  // An alias naming itself among others: no account, so just the others.
  EXPECT_EQ(resolve("copy@example.test").mailboxes, Strings{"bob@example.test"});
  // Inactive alias, no catch-all yet.
  EXPECT_EQ(resolve("off@example.test").kind, Kind::Unknown);
  EXPECT_EQ(resolve("random@example.test").kind, Kind::Unknown);

  exec(path(), "INSERT INTO alias VALUES ('@example.test', 'bob@example.test', 'example.test', 1)");
  EXPECT_EQ(resolve("random@example.test").mailboxes, Strings{"bob@example.test"});
  EXPECT_EQ(resolve("off@example.test").mailboxes, Strings{"bob@example.test"});
  EXPECT_EQ(resolve("alice@example.test").mailboxes, Strings{"alice@example.test"});
  exec(path(), "UPDATE alias SET active = 0 WHERE address = '@example.test'");
  EXPECT_EQ(resolve("random@example.test").kind, Kind::Unknown);

  EXPECT_EQ(d->sender_addresses("alice@example.test").value(), Strings{"alice@example.test"});
}

TEST_F(PostfixAdmin, WritesAreRefused) {
  for (auto r :
       {d->add_domain("new.test"), d->remove_domain("example.test"),
        d->add_account(Account{"dave", "example.test"}, kPw), d->set_password("alice@example.test", kPw),
        d->set_enabled("alice@example.test", false), d->remove_account("alice@example.test"),
        d->add_alias("x@example.test", "alice@example.test"),
        d->remove_alias("team@example.test", "alice@example.test"),
        d->set_tls_policy({"gmx.de", "secure", ""}), d->remove_tls_policy("gmx.de"),
        d->import_account(Account{"dave", "example.test", kSha512})}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, Errc::Perm);
    EXPECT_NE(r.error().message.find("[directory.queries]"), std::string::npos) << r.error().message;
  }
  EXPECT_EQ(d->ensure_postmaster("example.test").error().code, Errc::Perm);
  // Mailfort's own settings still work (their tables are ours).
  ASSERT_TRUE(d->set_send_limit("alice@example.test", 5u).ok());
  EXPECT_EQ(d->send_limit("alice@example.test").value(), std::optional<uint32_t>(5));
  EXPECT_EQ(d->set_requires_tls("old.test", true).error().code, Errc::NotFound);  // inactive: not ours
}

TEST(CustomQueries, TwoColumnAliasesAndTlsPolicy) {
  TempDir tmp;
  std::string path = tmp.file("custom.sqlite");
  exec(path, R"sql(
CREATE TABLE doms (name TEXT);
CREATE TABLE users (login TEXT, pw TEXT, on_ TEXT);
CREATE TABLE fwd (src TEXT, du TEXT, dd TEXT);
CREATE TABLE tls (dom TEXT, pol TEXT, par TEXT);
INSERT INTO doms VALUES ('example.test');
INSERT INTO users VALUES ('alice@example.test', 'x', 'true');
INSERT INTO fwd VALUES ('info@example.test', 'alice', 'example.test'), ('info@example.test', 'x', 'remote.test');
INSERT INTO fwd VALUES ('@example.test', 'alice', 'example.test');
INSERT INTO tls VALUES ('gmx.de', 'secure', 'match=.gmx.net');
)sql");
  config::DirectoryQueries q;
  q.domain = "SELECT name FROM doms WHERE name = :domain";
  q.user = "SELECT login, NULL, pw, 0, on_ FROM users WHERE login = :username || '@' || :domain";
  q.aliases = "SELECT du, dd FROM fwd WHERE src = :address";
  q.tls_policy = "SELECT pol, par FROM tls WHERE dom = :domain";
  auto d = open_sqlite_queries(path, q);
  ASSERT_TRUE(d);
  auto info = d->resolve_recipient("info@example.test").value();
  EXPECT_EQ(info.mailboxes, Strings{"alice@example.test"});
  EXPECT_EQ(info.forwards, Strings{"x@remote.test"});
  EXPECT_EQ(d->resolve_recipient("other@example.test").value().mailboxes, Strings{"alice@example.test"});
  EXPECT_TRUE(d->find_account("alice@example.test").value()->enabled);  // "true"
  auto p = d->find_tls_policy("GMX.de").value();
  ASSERT_TRUE(p);
  EXPECT_EQ(p->policy, "secure");
  EXPECT_EQ(p->params, "match=.gmx.net");
  EXPECT_FALSE(d->find_tls_policy("web.de").value());
  // A broken query is the directory's fault, not "no such user": Temp.
  q.user = "SELECT nonsense FROM nowhere WHERE x = :address";
  auto broken = open_sqlite_queries(path, q);
  EXPECT_EQ(broken->find_account("alice@example.test").error().code, Errc::Temp);
  EXPECT_EQ(broken->authenticate("alice@example.test", "x").error().code, Errc::Temp);
}

// ---- hostile input ----

const Strings& hostile_locals() {
  static const Strings k{
      "o'brien",          "a\"b", "back\\slash",  "50%", "%",       "a_b", "_", "x' OR '1'='1",
      "x\" OR \"1\"=\"1", "\\'",  "j\xc3\xb6rg2", "%@%", "a%_\\'\""};
  return k;
}

void expect_no_match(Directory& d) {
  for (const auto& local : hostile_locals()) {
    std::string addr = local + "@example.test";
    SCOPED_TRACE(addr);
    auto acct = d.find_account(addr);
    ASSERT_TRUE(acct.ok()) << acct.error().message;
    EXPECT_FALSE(acct.value());
    auto r = d.resolve_recipient(addr);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->kind, Kind::Unknown);
    auto a = d.authenticate(addr, kPw);
    ASSERT_TRUE(a.ok()) << a.error().message;
    EXPECT_FALSE(a->ok);
    auto s = d.sender_addresses(addr);  // Invalid for what is no address (a space)
    if (s.ok())
      EXPECT_EQ(s->size(), 1u);
    else
      EXPECT_EQ(s.error().code, Errc::Invalid) << s.error().message;
    EXPECT_FALSE(d.send_limit(addr).value());
    EXPECT_FALSE(d.allows_any_from(addr).value());
    for (std::string dom : {local, local + ".test", "example.test" + local}) {
      auto l = d.is_local_domain(dom);
      ASSERT_TRUE(l.ok()) << l.error().message;
      EXPECT_FALSE(l.value());
      auto t = d.find_tls_policy(dom);
      ASSERT_TRUE(t.ok()) << t.error().message;
      EXPECT_FALSE(t.value());
      EXPECT_FALSE(d.requires_tls(dom).value());
    }
  }
}

TEST(Hostile, AddressesStayDataOnTheGuideSchema) {
  TempDir tmp;
  auto d = open_sqlite(tmp.file("d.sqlite")).value();
  ASSERT_TRUE(d->add_domain("example.test"));
  // Names a LIKE or a spliced quote would match.
  for (const char* u : {"obrien", "ab", "a1b", "50x", "x", "j\xc3\xb6rg"})
    ASSERT_TRUE(d->add_account(Account{u, "example.test"}, kPw)) << u;
  ASSERT_TRUE(d->set_tls_policy({"example.test", "secure", ""}));
  ASSERT_TRUE(d->set_requires_tls("example.test", true));
  expect_no_match(*d);
  EXPECT_EQ(d->resolve_recipient("j\xc3\xb6rg@example.test")->mailboxes, Strings{"j\xc3\xb6rg@example.test"});
  EXPECT_TRUE(d->authenticate("j\xc3\xb6rg@example.test", kPw)->ok);
  EXPECT_EQ(d->list_accounts("example.test")->size(), 6u);  // nothing dropped
}

TEST_F(PostfixAdmin, HostileAddressesStayData) {
  exec(path(),
       "INSERT INTO mailbox VALUES ('ab@example.test', 'x', '', '', 0, 'ab', 'example.test', 1);"
       "INSERT INTO alias VALUES ('a1b@example.test', 'alice@example.test', 'example.test', 1);");
  expect_no_match(*d);
}

// ---- import_account ----

TEST(Import, InsertsThenUpdatesWithTheHashAsGiven) {
  TempDir tmp;
  auto d = open_sqlite(tmp.file("d.sqlite")).value();
  EXPECT_EQ(d->import_account(Account{"u", "example.test", kSha512}).error().code, Errc::NotFound);
  ASSERT_TRUE(d->add_domain("example.test"));
  ASSERT_TRUE(d->import_account(Account{"User1", "example.test", kSha512, 2048, true, false}));
  EXPECT_TRUE(d->authenticate("user1@example.test", "Hello world!")->ok);
  EXPECT_EQ(d->find_account("user1@example.test").value()->quota_mb, 2048u);
  std::string argon = hash_password(kPw).value();
  ASSERT_TRUE(d->import_account(Account{"user1", "example.test", argon, 10, false, true}));
  auto a = d->find_account("user1@example.test").value();
  EXPECT_EQ(a->password_hash, argon);
  EXPECT_EQ(a->quota_mb, 10u);
  EXPECT_FALSE(a->enabled);
  EXPECT_TRUE(a->send_only);
  EXPECT_EQ(d->list_accounts("")->size(), 1u);
  EXPECT_EQ(d->import_account(Account{"u2", "example.test", ""}).error().code, Errc::Invalid);
}

// ---- the cache ----

TEST(Cache, HitsExpiryNegativeEntriesAndInvalidation) {
  TempDir tmp;
  std::string path = tmp.file("d.sqlite");
  auto inner = open_sqlite(path).value();
  Directory* raw = inner.get();
  EXPECT_EQ(with_cache(std::move(inner), std::chrono::seconds(0)).get(), raw);  // ttl 0: no cache
  auto cached = with_cache(open_sqlite(path).value(), std::chrono::seconds(1));
  auto behind = open_sqlite(path).value();  // changes the cache does not see

  ASSERT_TRUE(cached->add_domain("example.test"));
  ASSERT_TRUE(cached->add_account(Account{"alice", "example.test"}, kPw));
  EXPECT_TRUE(cached->is_local_domain("example.test").value());
  EXPECT_FALSE(cached->is_local_domain("other.test").value());  // a negative entry
  EXPECT_TRUE(cached->find_account("alice@example.test").value()->enabled);
  EXPECT_EQ(cached->resolve_recipient("alice@example.test")->kind, Kind::Deliver);

  ASSERT_TRUE(behind->add_domain("other.test"));
  ASSERT_TRUE(behind->set_enabled("alice@example.test", false));
  EXPECT_FALSE(cached->is_local_domain("OTHER.test").value());               // still the negative entry
  EXPECT_TRUE(cached->find_account("Alice@example.test").value()->enabled);  // still the hit
  EXPECT_EQ(cached->resolve_recipient("alice@example.test")->kind, Kind::Deliver);
  // Logins are never cached.
  ASSERT_TRUE(behind->set_enabled("alice@example.test", true));
  ASSERT_TRUE(behind->set_password("alice@example.test", "Another-Horse-77"));
  EXPECT_TRUE(cached->authenticate("alice@example.test", "Another-Horse-77")->ok);
  ASSERT_TRUE(behind->set_enabled("alice@example.test", false));

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // expiry
  EXPECT_TRUE(cached->is_local_domain("other.test").value());
  EXPECT_FALSE(cached->find_account("alice@example.test").value()->enabled);
  EXPECT_EQ(cached->resolve_recipient("alice@example.test")->kind, Kind::Disabled);

  // A write through the cache clears it.
  EXPECT_FALSE(cached->requires_tls("example.test").value());
  ASSERT_TRUE(behind->set_requires_tls("example.test", true));
  EXPECT_FALSE(cached->requires_tls("example.test").value());
  ASSERT_TRUE(cached->set_enabled("alice@example.test", true));
  EXPECT_TRUE(cached->requires_tls("example.test").value());
  EXPECT_TRUE(cached->find_account("alice@example.test").value()->enabled);
  EXPECT_FALSE(cached->find_account("ghost@example.test").value());
  ASSERT_TRUE(cached->add_account(Account{"ghost", "example.test"}, kPw));
  EXPECT_TRUE(cached->find_account("ghost@example.test").value());
  EXPECT_TRUE(cached->list_access()->empty());
  ASSERT_TRUE(cached->add_access("192.0.2.1", AccessAction::Reject));
  EXPECT_EQ(cached->list_access()->size(), 1u);
  EXPECT_FALSE(cached->unavailable());
}

// ---- a server that is down; the configuration ----

TEST(OpenDirectory, ServerDownOpensAndLookupsFailTemp) {
  TempDir tmp;
  config::Config cfg;
  cfg.data_dir = tmp.dir.string();
  cfg.directory.backend = "mysql";
  cfg.directory.url = "mysql://vmail@127.0.0.1:1/vmail";  // nothing listens on port 1
  cfg.directory.connect_timeout_seconds = 1;
  auto d = open_directory(cfg);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d.value()->is_local_domain("example.test").error().code, Errc::Temp);
  EXPECT_EQ(d.value()->resolve_recipient("a@example.test").error().code, Errc::Temp);
  EXPECT_EQ(d.value()->authenticate("a@example.test", kPw).error().code, Errc::Temp);
  EXPECT_EQ(d.value()->find_account("a@example.test").error().code, Errc::Temp);
  EXPECT_TRUE(d.value()->unavailable());
}

TEST(OpenDirectory, SqliteFromTheConfiguration) {
  TempDir tmp;
  config::Config cfg;
  cfg.data_dir = tmp.dir.string();
  auto o = connect_options(cfg);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->dialect, sql::Dialect::SQLite);
  EXPECT_EQ(o->path, tmp.file("directory.sqlite"));
  auto d = open_directory(cfg);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d.value()->add_domain("example.test"));
  EXPECT_TRUE(open_sqlite(tmp.file("directory.sqlite")).value()->is_local_domain("example.test").value());
}

TEST(ConnectOptions, PasswordFileTlsAndTimeouts) {
  TempDir tmp;
  config::Config cfg;
  cfg.data_dir = tmp.dir.string();
  cfg.directory.backend = "postgresql";
  cfg.directory.url = "postgresql://vmail@127.0.0.1:5432/vmail";
  cfg.directory.password_file = tmp.file("missing");
  auto missing = connect_options(cfg);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("password_file"), std::string::npos) << missing.error().message;
  { std::ofstream(tmp.file("pw")) << "s3cret'\"\\\nsecond line\n"; }
  cfg.directory.password_file = tmp.file("pw");
  cfg.directory.tls = "verify";
  cfg.directory.tls_ca_file = "/etc/ssl/ca.pem";
  cfg.directory.connect_timeout_seconds = 3;
  auto o = connect_options(cfg);
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->dialect, sql::Dialect::PostgreSQL);
  EXPECT_EQ(o->password, "s3cret'\"\\");
  EXPECT_EQ(o->tls, sql::ConnectOptions::Tls::Verify);
  EXPECT_EQ(o->tls_ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(o->connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(o->host, "127.0.0.1");
  cfg.directory.tls = "require";
  EXPECT_EQ(connect_options(cfg)->tls, sql::ConnectOptions::Tls::Require);
  cfg.directory.tls = "sometimes";
  EXPECT_FALSE(connect_options(cfg).ok());
  cfg.directory.tls = "none";
  cfg.directory.backend = "mysql";  // a postgresql URL
  EXPECT_FALSE(connect_options(cfg).ok());
}

TEST(Schema, EveryDialectHasTheTables) {
  for (auto dialect : {sql::Dialect::SQLite, sql::Dialect::MySQL, sql::Dialect::PostgreSQL}) {
    std::string all = schema_sql(dialect, true), own = schema_sql(dialect, false);
    for (const char* t : {"domains", "accounts", "aliases", "tlspolicies"}) {
      EXPECT_NE(all.find(t), std::string::npos) << t;
      EXPECT_EQ(own.find(std::string("EXISTS ") + t), std::string::npos) << t;
      EXPECT_EQ(own.find(std::string("EXISTS `") + t), std::string::npos) << t;
    }
    for (const char* t : {"mailfort_domain_settings", "mailfort_account_settings", "mailfort_access"})
      EXPECT_NE(own.find(t), std::string::npos) << t;
  }
  EXPECT_NE(schema_sql(sql::Dialect::MySQL, true).find("`policy` enum('none', 'may'"), std::string::npos);
  EXPECT_NE(schema_sql(sql::Dialect::PostgreSQL, true).find("SERIAL"), std::string::npos);
  // The SQLite text runs (twice: idempotent).
  TempDir tmp;
  sql::ConnectOptions o;
  o.path = tmp.file("s.sqlite");
  auto pool = sql::Pool::create(o, 1);
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(pool->with([](sql::Connection& c) { return init_schema(c, true); }, false));
}

}  // namespace
