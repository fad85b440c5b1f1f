#include <crypt.h>

#include <gtest/gtest.h>
#include <filesystem>

#include "base/sqlite.h"
#include "directory/directory.h"
#include "directory/password.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::directory;
using Kind = Resolution::Kind;

namespace {

constexpr const char* kPw = "Correct-Horse-9";

TEST(Password, Sha512CryptSpecVectors) {
  // From Ulrich Drepper's SHA-crypt specification.
  const char* v1 =
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
  EXPECT_TRUE(verify_password("Hello world!", v1));
  EXPECT_TRUE(verify_password("Hello world!", std::string("{SHA512-CRYPT}") + v1));
  EXPECT_TRUE(verify_password("Hello world!", std::string("{sha512-crypt}") + v1));
  EXPECT_FALSE(verify_password("Hello world", std::string("{SHA512-CRYPT}") + v1));
  const char* v2 =
      "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/"
      "YTBmSK6H9qs/y3RnOaw5v.";
  EXPECT_TRUE(verify_password("Hello world!", v2));
  EXPECT_FALSE(verify_password("Hello world!", std::string("{SHA256-CRYPT}") + v1));  // scheme must match
}

TEST(Password, BcryptAndYescryptMadeAtTestTime) {
  for (const char* prefix : {"$2b$", "$y$"}) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    ASSERT_NE(crypt_gensalt_rn(prefix, prefix[1] == '2' ? 5 : 0, nullptr, 0, salt, sizeof salt), nullptr);
    crypt_data data{};
    const char* h = crypt_r(kPw, salt, &data);
    ASSERT_NE(h, nullptr);
    std::string hash(h);
    EXPECT_TRUE(verify_password(kPw, hash)) << hash;
    EXPECT_FALSE(verify_password("wrong", hash));
    if (prefix[1] == '2') EXPECT_TRUE(verify_password(kPw, "{BLF-CRYPT}" + hash));
  }
}

TEST(Password, Argon2RoundTripAndWeakSchemesRefused) {
  auto h = hash_password(kPw);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->rfind("{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$", 0), 0u) << *h;
  EXPECT_TRUE(verify_password(kPw, *h));
  EXPECT_FALSE(verify_password("Correct-Horse-8", *h));
  EXPECT_TRUE(verify_password(kPw, h->substr(10)));  // bare $argon2id$
  EXPECT_NE(*h, hash_password(kPw).value());         // salted
  EXPECT_FALSE(verify_password("secret", "{PLAIN}secret"));
  EXPECT_FALSE(verify_password("secret", "secret"));
  EXPECT_FALSE(verify_password("secret", "{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ=="));
  EXPECT_FALSE(verify_password("", ""));
}

TEST(Password, StrengthPolicy) {
  EXPECT_NE(password_weakness("short1A!", ""), "");
  EXPECT_NE(password_weakness("alllowercaseletters", ""), "");
  EXPECT_NE(password_weakness("aaaaaaaaaaaaaaaaaaaaaaaa", ""), "");
  EXPECT_NE(password_weakness("Alice-2024-secret", "alice"), "");
  EXPECT_EQ(password_weakness(kPw, "bob"), "");
  EXPECT_EQ(password_weakness("correct horse battery staple", ""), "");  // long passphrase
  for (int i = 0; i < 20; ++i) EXPECT_EQ(password_weakness(generate_password(), ""), "");
}

struct DirFixture : ::testing::Test {
  fs::path dir;
  std::unique_ptr<Directory> d;
  void SetUp() override {
    char tmpl[] = "/tmp/mf-dir-XXXXXX";
    dir = ::mkdtemp(tmpl);
    auto r = open_sqlite(path());
    ASSERT_TRUE(r.ok()) << r.error().message;
    d = std::move(r.value());
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string path() const { return (dir / "directory.sqlite").string(); }
  void account(const std::string& addr, bool enabled = true, bool send_only = false, uint64_t quota = 0) {
    auto at = addr.find('@');
    Account a{addr.substr(0, at), addr.substr(at + 1), "", quota, enabled, send_only};
    auto r = d->add_account(a, kPw);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  Resolution resolve(const std::string& a) {
    auto r = d->resolve_recipient(a);
    EXPECT_TRUE(r.ok());
    return r.value();
  }
};

TEST_F(DirFixture, Domains) {
  ASSERT_TRUE(d->add_domain("Example.TEST").ok());
  EXPECT_EQ(d->add_domain("example.test").error().code, Errc::Exists);
  EXPECT_EQ(d->add_domain("not a domain").error().code, Errc::Invalid);
  EXPECT_EQ(d->list_domains().value(), std::vector<std::string>{"example.test"});
  EXPECT_TRUE(d->is_local_domain("EXAMPLE.test").value());
  account("a@example.test");
  auto refused = d->remove_domain("example.test");
  EXPECT_EQ(refused.error().code, Errc::Exists);
  ASSERT_TRUE(d->remove_account("a@example.test").ok());
  EXPECT_TRUE(d->remove_domain("example.test").ok());
  EXPECT_EQ(d->remove_domain("example.test").error().code, Errc::NotFound);
}

TEST_F(DirFixture, AccountsAndAuth) {
  EXPECT_EQ(d->add_account(Account{"a", "nodomain.test"}, kPw).error().code, Errc::NotFound);
  ASSERT_TRUE(d->add_domain("example.test").ok());
  EXPECT_EQ(d->add_account(Account{"a", "example.test"}, "weak").error().code, Errc::WeakPassword);
  account("Alice@example.test", true, false, 100);
  EXPECT_EQ(d->add_account(Account{"alice", "example.test"}, kPw).error().code, Errc::Exists);
  auto acc = d->find_account("ALICE@Example.test").value();
  ASSERT_TRUE(acc);
  EXPECT_EQ(acc->address(), "alice@example.test");
  EXPECT_EQ(acc->quota_mb, 100u);
  EXPECT_TRUE(d->authenticate("alice@example.test", kPw)->ok);
  EXPECT_TRUE(d->authenticate("ALICE@EXAMPLE.TEST", kPw)->ok);
  EXPECT_FALSE(d->authenticate("alice@example.test", "Wrong-Horse-99")->ok);
  EXPECT_FALSE(d->authenticate("nobody@example.test", kPw)->ok);
  EXPECT_FALSE(d->authenticate("alice", kPw)->ok);
  ASSERT_TRUE(d->set_enabled("alice@example.test", false).ok());
  EXPECT_FALSE(d->authenticate("alice@example.test", kPw)->ok);
  ASSERT_TRUE(d->set_enabled("alice@example.test", true).ok());
  ASSERT_TRUE(d->set_password("alice@example.test", "Another-Horse-77").ok());
  EXPECT_TRUE(d->authenticate("alice@example.test", "Another-Horse-77")->ok);
  EXPECT_EQ(d->set_password("ghost@example.test", kPw).error().code, Errc::NotFound);
  EXPECT_EQ(d->list_accounts("example.test")->size(), 1u);
}

TEST_F(DirFixture, ResolutionRules) {
  ASSERT_TRUE(d->add_domain("example.test").ok());
  account("alice@example.test");
  account("bob@example.test");
  account("off@example.test", false);
  account("robot@example.test", true, true);
  EXPECT_EQ(resolve("x@other.test").kind, Kind::NotLocal);
  EXPECT_EQ(resolve("nobody@example.test").kind, Kind::Unknown);
  EXPECT_EQ(resolve("off@example.test").kind, Kind::Disabled);
  EXPECT_EQ(resolve("robot@example.test").kind, Kind::SendOnly);
  auto a = resolve("Alice@Example.test");
  EXPECT_EQ(a.kind, Kind::Deliver);
  EXPECT_EQ(a.mailboxes, std::vector<std::string>{"alice@example.test"});
  EXPECT_EQ(resolve("alice+news@example.test").mailboxes, std::vector<std::string>{"alice@example.test"});
  // one-to-one, distribution list, forward
  ASSERT_TRUE(d->add_alias("info@example.test", "alice@example.test").ok());
  ASSERT_TRUE(d->add_alias("team@example.test", "alice@example.test").ok());
  ASSERT_TRUE(d->add_alias("team@example.test", "bob@example.test").ok());
  ASSERT_TRUE(d->add_alias("team@example.test", "ext@remote.test").ok());
  EXPECT_EQ(d->add_alias("team@example.test", "bob@example.test").error().code, Errc::Exists);
  EXPECT_EQ(resolve("info@example.test").mailboxes, std::vector<std::string>{"alice@example.test"});
  EXPECT_EQ(resolve("info+x@example.test").mailboxes, std::vector<std::string>{"alice@example.test"});
  auto team = resolve("team@example.test");
  EXPECT_EQ(team.mailboxes, (std::vector<std::string>{"alice@example.test", "bob@example.test"}));
  EXPECT_EQ(team.forwards, std::vector<std::string>{"ext@remote.test"});
  // catch-all only where nothing else matches
  ASSERT_TRUE(d->add_alias("@example.test", "bob@example.test").ok());
  EXPECT_EQ(resolve("random@example.test").mailboxes, std::vector<std::string>{"bob@example.test"});
  EXPECT_EQ(resolve("alice@example.test").mailboxes, std::vector<std::string>{"alice@example.test"});
  // loops terminate; a self-reference keeps a copy
  ASSERT_TRUE(d->add_alias("loop1@example.test", "loop2@example.test").ok());
  ASSERT_TRUE(d->add_alias("loop2@example.test", "loop1@example.test").ok());
  EXPECT_EQ(resolve("loop1@example.test").kind, Kind::Unknown);
  ASSERT_TRUE(d->add_alias("alice@example.test", "alice@example.test").ok());
  ASSERT_TRUE(d->add_alias("alice@example.test", "ext@remote.test").ok());
  auto copy = resolve("alice@example.test");
  EXPECT_EQ(copy.mailboxes, std::vector<std::string>{"alice@example.test"});
  EXPECT_EQ(copy.forwards, std::vector<std::string>{"ext@remote.test"});
  // alias to a disabled account delivers nothing
  ASSERT_TRUE(d->add_alias("old@example.test", "off@example.test").ok());
  EXPECT_EQ(resolve("old@example.test").kind, Kind::Unknown);
  // sender login maps
  auto owned = d->sender_addresses("bob@example.test").value();
  EXPECT_EQ(owned, (std::vector<std::string>{"bob@example.test", "team@example.test", "@example.test"}));
  ASSERT_TRUE(d->remove_alias("@example.test", "bob@example.test").ok());
  EXPECT_EQ(resolve("random@example.test").kind, Kind::Unknown);
  EXPECT_EQ(d->add_alias("x@remote.test", "alice@example.test").error().code, Errc::NotFound);
}

TEST_F(DirFixture, TlsPoliciesAndInboundTls) {
  ASSERT_TRUE(d->set_tls_policy({"gmx.de", "secure", "match=.gmx.net"}).ok());
  ASSERT_TRUE(d->set_tls_policy({"mailbox.org", "dane-only", ""}).ok());
  EXPECT_EQ(d->set_tls_policy({"x.test", "bogus", ""}).error().code, Errc::Invalid);
  EXPECT_EQ(d->set_tls_policy({"x.test", "fingerprint", ""}).error().code, Errc::Invalid);
  EXPECT_EQ(d->list_tls_policies()->size(), 2u);
  EXPECT_EQ(d->find_tls_policy("GMX.de").value()->params, "match=.gmx.net");
  ASSERT_TRUE(d->remove_tls_policy("gmx.de").ok());
  EXPECT_FALSE(d->find_tls_policy("gmx.de").value());
  ASSERT_TRUE(d->add_domain("example.test").ok());
  EXPECT_FALSE(d->requires_tls("example.test").value());
  ASSERT_TRUE(d->set_requires_tls("example.test", true).ok());
  EXPECT_TRUE(d->requires_tls("example.test").value());
}

TEST_F(DirFixture, SendLimitOverrides) {
  ASSERT_TRUE(d->add_domain("example.test").ok());
  account("Alice@example.test");
  EXPECT_FALSE(d->send_limit("alice@example.test").value());
  ASSERT_TRUE(d->set_send_limit("ALICE@example.test", 5u).ok());
  EXPECT_EQ(d->send_limit("alice@Example.test").value(), std::optional<uint32_t>(5));
  ASSERT_TRUE(d->set_send_limit("alice@example.test", 0u).ok());  // unlimited
  EXPECT_EQ(d->send_limit("alice@example.test").value(), std::optional<uint32_t>(0));
  ASSERT_TRUE(d->set_send_limit("alice@example.test", std::nullopt).ok());
  EXPECT_FALSE(d->send_limit("alice@example.test").value());
  EXPECT_EQ(d->set_send_limit("ghost@example.test", 5u).error().code, Errc::NotFound);
  // A removed account's override does not pass to a new one of that name.
  ASSERT_TRUE(d->set_send_limit("alice@example.test", 7u).ok());
  ASSERT_TRUE(d->remove_account("alice@example.test").ok());
  account("alice@example.test");
  EXPECT_FALSE(d->send_limit("alice@example.test").value());

  EXPECT_FALSE(d->domain_send_limit("example.test").value());
  ASSERT_TRUE(d->set_requires_tls("example.test", true).ok());
  ASSERT_TRUE(d->set_domain_send_limit("EXAMPLE.test", 40u).ok());
  EXPECT_EQ(d->domain_send_limit("example.test").value(), std::optional<uint32_t>(40));
  EXPECT_TRUE(d->requires_tls("example.test").value());  // the two settings share a row
  ASSERT_TRUE(d->set_requires_tls("example.test", false).ok());
  EXPECT_EQ(d->domain_send_limit("example.test").value(), std::optional<uint32_t>(40));
  ASSERT_TRUE(d->set_domain_send_limit("example.test", std::nullopt).ok());
  EXPECT_FALSE(d->domain_send_limit("example.test").value());
  EXPECT_EQ(d->set_domain_send_limit("nowhere.test", 1u).error().code, Errc::NotFound);
}

TEST_F(DirFixture, OlderTablesAreRenamedAndGetTheNewColumns) {
  ASSERT_TRUE(d->add_domain("example.test").ok());
  d.reset();
  auto db = sqlite::Database::open(path(), {});
  ASSERT_TRUE(db.ok()) << db.error().message;
  // An earlier version's tables: without the mailfort_ prefix, and
  // domain_settings without its later columns.
  const char* older = R"sql(
DROP TABLE mailfort_domain_settings;
DROP TABLE mailfort_account_settings;
DROP TABLE mailfort_access;
CREATE TABLE domain_settings (domain VARCHAR(255) PRIMARY KEY, require_tls BOOLEAN NOT NULL DEFAULT 0);
INSERT INTO domain_settings (domain, require_tls) VALUES ('example.test', 1);
CREATE TABLE access (entry VARCHAR(320) PRIMARY KEY, action VARCHAR(8) NOT NULL);
INSERT INTO access (entry, action) VALUES ('192.0.2.0/24', 'reject');
)sql";
  {
    auto r = db->exec(older);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  db = sqlite::Database();       // closed before the directory opens it
  for (int i = 0; i < 2; ++i) {  // the migration runs once, then is a no-op
    auto r = open_sqlite(path());
    ASSERT_TRUE(r.ok()) << r.error().message;
    d = std::move(r.value());
  }
  {
    auto check = sqlite::Database::open(path(), {});
    ASSERT_TRUE(check.ok());
    auto q = check->prepare(
        "SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'table' AND name "
        "IN "
        "('domain_settings', 'account_settings', 'access', 'mailfort_domain_settings', "
        "'mailfort_account_settings', 'mailfort_access') ORDER BY name)");
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.text(0), "mailfort_access mailfort_account_settings mailfort_domain_settings");
  }
  ASSERT_EQ(d->list_access().value().size(), 1u);  // the renamed table kept its rows
  EXPECT_EQ(d->list_access().value()[0].entry, "192.0.2.0/24");
  EXPECT_TRUE(d->requires_tls("example.test").value());
  EXPECT_FALSE(d->domain_send_limit("example.test").value());
  ASSERT_TRUE(d->set_domain_send_limit("example.test", 9u).ok());
  EXPECT_EQ(d->domain_send_limit("example.test").value(), std::optional<uint32_t>(9));
  EXPECT_TRUE(d->requires_tls("example.test").value());
}

TEST_F(DirFixture, GuideSchemaDatabaseWorksAsIs) {
  d.reset();
  fs::remove(path());
  auto db = sqlite::Database::open(path(), {});
  ASSERT_TRUE(db.ok()) << db.error().message;
  const char* guide = R"sql(
CREATE TABLE domains (id INTEGER PRIMARY KEY AUTOINCREMENT, domain varchar(255) NOT NULL UNIQUE);
CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, username varchar(64) NOT NULL, domain varchar(255) NOT NULL,
  password varchar(255) NOT NULL, quota int DEFAULT 0, enabled boolean DEFAULT 0, sendonly boolean DEFAULT 0,
  UNIQUE (username, domain), FOREIGN KEY (domain) REFERENCES domains (domain));
CREATE TABLE aliases (id INTEGER PRIMARY KEY AUTOINCREMENT, source_username varchar(64), source_domain varchar(255) NOT NULL,
  destination_username varchar(64) NOT NULL, destination_domain varchar(255) NOT NULL, enabled boolean DEFAULT 0,
  UNIQUE (source_username, source_domain, destination_username, destination_domain));
CREATE TABLE tlspolicies (id INTEGER PRIMARY KEY AUTOINCREMENT, domain varchar(255) NOT NULL UNIQUE,
  policy varchar(16) NOT NULL, params varchar(255));
insert into domains (domain) values ('mysystems.tld');
insert into accounts (username, domain, password, quota, enabled, sendonly) values ('user1', 'mysystems.tld',
  '{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1', 2048, true, false);
insert into aliases (source_username, source_domain, destination_username, destination_domain, enabled)
  values ('alias', 'mysystems.tld', 'user1', 'mysystems.tld', true);
insert into aliases (source_username, source_domain, destination_username, destination_domain, enabled)
  values (NULL, 'mysystems.tld', 'user1', 'mysystems.tld', true);
insert into tlspolicies (domain, policy, params) values ('gmx.de', 'secure', 'match=.gmx.net');
)sql";
  {
    auto r = db->exec(guide);
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  db = sqlite::Database();  // closed before the directory opens it
  auto r = open_sqlite(path());
  ASSERT_TRUE(r.ok()) << r.error().message;
  d = std::move(r.value());
  EXPECT_TRUE(d->authenticate("user1@mysystems.tld", "Hello world!")->ok);
  EXPECT_EQ(d->find_account("user1@mysystems.tld").value()->quota_mb, 2048u);
  EXPECT_EQ(resolve("alias@mysystems.tld").mailboxes, std::vector<std::string>{"user1@mysystems.tld"});
  EXPECT_EQ(resolve("anything@mysystems.tld").mailboxes, std::vector<std::string>{"user1@mysystems.tld"});
  EXPECT_EQ(d->find_tls_policy("gmx.de").value()->policy, "secure");
}

TEST(Address, NewAddressesMustBeReachable) {
  for (const char* bad : {"a@b@example.test", "\"q\"@example.test", "a\\b@example.test", "a b@example.test",
                          ".a@example.test", "a.@example.test", "a..b@example.test", "a/b@example.test",
                          "a<b>@example.test", "@example.test", "a@", "a@example.test.", "a@[127.0.0.1]",
                          "a\xff@example.test", "a\xc0\xaf@example.test", "a\xc2\x85@example.test"}) {
    auto r = parse_new_address(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(r.error().code, Errc::Invalid);
  }
  for (const char* good : {"a@example.test", "first.last@example.test", "o'brien+x@example.test",
                           "j\xc3\xb6rg@example.test", "A_B-c~{}@Example.TEST"}) {
    auto r = parse_new_address(good);
    ASSERT_TRUE(r.ok()) << good;
  }
  EXPECT_EQ(parse_new_address("Bob@Example.TEST")->domain, "example.test");
}

TEST_F(DirFixture, PostmasterAliasShadowingAndAnyFrom) {
  ASSERT_TRUE(d->add_domain("example.test").ok());
  EXPECT_FALSE(d->ensure_postmaster("example.test").value());  // no account yet
  EXPECT_EQ(d->add_account(Account{"a..b", "example.test"}, kPw).error().code, Errc::Invalid);
  account("robot@example.test", true, true);  // send-only: not a postmaster
  account("alice@example.test");
  EXPECT_EQ(d->ensure_postmaster("example.test").value(), std::optional<std::string>("alice@example.test"));
  EXPECT_FALSE(d->ensure_postmaster("example.test").value());  // once
  EXPECT_EQ(resolve("postmaster@example.test").mailboxes, std::vector<std::string>{"alice@example.test"});
  ASSERT_TRUE(d->add_domain("other.test").ok());
  EXPECT_EQ(d->ensure_postmaster("other.test").value(), std::optional<std::string>("alice@example.test"));
  ASSERT_TRUE(d->remove_domain("other.test").ok());  // its postmaster alias goes with it
  EXPECT_TRUE(d->list_aliases("other.test")->empty());
  EXPECT_EQ(d->add_account(Account{"postmaster", "example.test"}, kPw).error().code, Errc::Exists);

  // An alias over an account is refused unless it keeps a copy or is forced.
  account("bob@example.test");
  EXPECT_EQ(d->add_alias("bob@example.test", "alice@example.test").error().code, Errc::Exists);
  EXPECT_EQ(d->add_alias("BOB@example.test", "ext@remote.test").error().code, Errc::Exists);
  EXPECT_EQ(d->add_alias("\"q\"@example.test", "bob@example.test").error().code, Errc::Invalid);
  ASSERT_TRUE(d->add_alias("bob@example.test", "alice@example.test", true).ok());
  ASSERT_TRUE(d->remove_alias("bob@example.test", "alice@example.test").ok());
  ASSERT_TRUE(d->add_alias("bob@example.test", "bob@example.test").ok());
  ASSERT_TRUE(d->add_alias("bob@example.test", "alice@example.test").ok());
  EXPECT_EQ(resolve("bob@example.test").mailboxes,
            (std::vector<std::string>{"bob@example.test", "alice@example.test"}));

  // allow_any_from: per account or per domain; other settings keep theirs.
  EXPECT_FALSE(d->allows_any_from("alice@example.test").value());
  ASSERT_TRUE(d->set_send_limit("alice@example.test", 5u).ok());
  ASSERT_TRUE(d->set_allow_any_from("Alice@example.test", true).ok());
  EXPECT_TRUE(d->allows_any_from("alice@example.test").value());
  ASSERT_TRUE(d->set_send_limit("alice@example.test", std::nullopt).ok());
  EXPECT_TRUE(d->allows_any_from("alice@example.test").value());
  EXPECT_FALSE(d->allows_any_from("bob@example.test").value());
  ASSERT_TRUE(d->set_domain_allow_any_from("example.test", true).ok());
  EXPECT_TRUE(d->domain_allows_any_from("example.test").value());
  EXPECT_TRUE(d->allows_any_from("bob@example.test").value());
  ASSERT_TRUE(d->set_domain_allow_any_from("example.test", false).ok());
  EXPECT_FALSE(d->allows_any_from("bob@example.test").value());
  EXPECT_EQ(d->set_allow_any_from("ghost@example.test", true).error().code, Errc::NotFound);
  EXPECT_EQ(d->set_domain_allow_any_from("nowhere.test", true).error().code, Errc::NotFound);
}

TEST_F(DirFixture, TwoHandlesSeeEachOthersChanges) {
  auto other = open_sqlite(path());
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(d->add_domain("example.test").ok());
  EXPECT_TRUE(other.value()->is_local_domain("example.test").value());
  ASSERT_TRUE(other.value()->add_account(Account{"late", "example.test"}, kPw).ok());
  EXPECT_TRUE(d->authenticate("late@example.test", kPw)->ok);
}

}  // namespace
