// translate(), bind_order(), parse_url() and display(): pure, no server.
#include <gtest/gtest.h>

#include "sql/sql.h"

using namespace mailfort;
using namespace mailfort::sql;

namespace {

Translated tr(std::string_view s, Dialect d) {
  auto r = translate(s, d);
  EXPECT_TRUE(r.ok()) << s << ": " << (r ? "" : r.error().message);
  return r ? *r : Translated{};
}

Errc tr_err(std::string_view s, Dialect d) {
  auto r = translate(s, d);
  EXPECT_FALSE(r.ok()) << s << " translated to " << (r ? r->text : "");
  return r ? Errc::Perm : r.error().code;
}

using Names = std::vector<std::string>;

}  // namespace

TEST(Translate, Placeholders) {
  const char* q = "SELECT a FROM t WHERE x = :x AND y=:y_2";
  auto s = tr(q, Dialect::SQLite);
  EXPECT_EQ(s.text, "SELECT a FROM t WHERE x = ? AND y=?");
  EXPECT_EQ(s.names, (Names{"x", "y_2"}));
  auto m = tr(q, Dialect::MySQL);
  EXPECT_EQ(m.text, s.text);
  EXPECT_EQ(m.names, s.names);
  auto p = tr(q, Dialect::PostgreSQL);
  EXPECT_EQ(p.text, "SELECT a FROM t WHERE x = $1 AND y=$2");
  EXPECT_EQ(p.names, (Names{"x", "y_2"}));
}

TEST(Translate, RepeatedNames) {
  const char* q = "SELECT 1 WHERE a = :u OR b = :d OR c = :u";
  auto m = tr(q, Dialect::MySQL);
  EXPECT_EQ(m.text, "SELECT 1 WHERE a = ? OR b = ? OR c = ?");
  EXPECT_EQ(m.names, (Names{"u", "d", "u"}));
  auto p = tr(q, Dialect::PostgreSQL);
  EXPECT_EQ(p.text, "SELECT 1 WHERE a = $1 OR b = $2 OR c = $1");
  EXPECT_EQ(p.names, (Names{"u", "d"}));
}

TEST(Translate, NoParameters) {
  for (auto d : {Dialect::SQLite, Dialect::MySQL, Dialect::PostgreSQL}) {
    auto t = tr("", d);
    EXPECT_EQ(t.text, "");
    EXPECT_TRUE(t.names.empty());
    EXPECT_EQ(tr("SELECT 1", d).text, "SELECT 1");
  }
}

TEST(Translate, QuotesAreData) {
  for (auto d : {Dialect::SQLite, Dialect::MySQL, Dialect::PostgreSQL}) {
    auto t = tr("SELECT ':a', 'it''s :b', \"c:d\", :e", d);
    EXPECT_EQ(t.names, (Names{"e"})) << dialect_name(d);
    EXPECT_EQ(t.text.substr(0, t.text.size() - (d == Dialect::PostgreSQL ? 2 : 1)),
              "SELECT ':a', 'it''s :b', \"c:d\", ");
  }
  // Backquoted identifiers: MySQL and SQLite.
  EXPECT_EQ(tr("SELECT `a:b` FROM t WHERE x=:x", Dialect::MySQL).text, "SELECT `a:b` FROM t WHERE x=?");
  EXPECT_EQ(tr("SELECT `a``:b` FROM t", Dialect::SQLite).names, Names{});
  EXPECT_EQ(tr("SELECT [a:b] FROM t WHERE x=:x", Dialect::SQLite).text, "SELECT [a:b] FROM t WHERE x=?");
}

TEST(Translate, MySqlBackslashEscapes) {
  // In MySQL 'a\' :x' is one string; in the others the string ends at \'.
  auto m = tr("SELECT 'a\\' :x', :y", Dialect::MySQL);
  EXPECT_EQ(m.names, (Names{"y"}));
  EXPECT_EQ(m.text, "SELECT 'a\\' :x', ?");
  auto s = tr("SELECT 'a\\', :y", Dialect::SQLite);
  EXPECT_EQ(s.names, (Names{"y"}));
  EXPECT_EQ(tr("SELECT \"a\\\" :x\" , :y", Dialect::MySQL).names, (Names{"y"}));
  // PostgreSQL: only E'...' takes backslashes.
  EXPECT_EQ(tr("SELECT E'a\\' :x', :y", Dialect::PostgreSQL).names, (Names{"y"}));
  EXPECT_EQ(tr("SELECT 'a\\', :y", Dialect::PostgreSQL).names, (Names{"y"}));
  // ...not "some_e'..." (an identifier ending in e then a string).
  EXPECT_EQ(tr("SELECT somee'a\\', :y", Dialect::PostgreSQL).names, (Names{"y"}));
}

TEST(Translate, Comments) {
  for (auto d : {Dialect::SQLite, Dialect::MySQL, Dialect::PostgreSQL}) {
    auto t = tr("SELECT 1 -- :a it's\n, /* :b ' */ :c -- :d", d);
    EXPECT_EQ(t.names, (Names{"c"})) << dialect_name(d);
  }
  EXPECT_EQ(tr("SELECT 1 # :a\n, :b", Dialect::MySQL).names, (Names{"b"}));
  // MySQL needs a space after --: "1--:a" is 1 minus minus :a.
  EXPECT_EQ(tr("SELECT 1--:a", Dialect::MySQL).names, (Names{"a"}));
  // PostgreSQL block comments nest.
  EXPECT_EQ(tr("SELECT /* /* :a */ :b */ :c", Dialect::PostgreSQL).names, (Names{"c"}));
  EXPECT_EQ(tr("SELECT /* /* :a */ :b */", Dialect::MySQL).names, (Names{"b"}));
}

TEST(Translate, CastsAndDollarQuotes) {
  auto p = tr("SELECT :v::text, x::int FROM t WHERE a=:a", Dialect::PostgreSQL);
  EXPECT_EQ(p.text, "SELECT $1::text, x::int FROM t WHERE a=$2");
  EXPECT_EQ(p.names, (Names{"v", "a"}));
  auto d = tr("SELECT $$ :a ' $$, $fn$ :b $fn$, :c, a$b", Dialect::PostgreSQL);
  EXPECT_EQ(d.names, (Names{"c"}));
  EXPECT_EQ(d.text, "SELECT $$ :a ' $$, $fn$ :b $fn$, $1, a$b");
  // '?' is an operator (jsonb) in PostgreSQL.
  EXPECT_EQ(tr("SELECT j ? 'k' FROM t", Dialect::PostgreSQL).text, "SELECT j ? 'k' FROM t");
}

TEST(Translate, Errors) {
  for (auto d : {Dialect::SQLite, Dialect::MySQL, Dialect::PostgreSQL}) {
    EXPECT_EQ(tr_err("SELECT : x", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT :", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT :1", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT 'abc", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT 'abc''", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT \"abc", d), Errc::Invalid);
    EXPECT_EQ(tr_err("SELECT /* abc", d), Errc::Invalid);
  }
  EXPECT_EQ(tr_err("SELECT ?", Dialect::SQLite), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT ?", Dialect::MySQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT $1", Dialect::PostgreSQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT `abc", Dialect::MySQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT 'abc\\'", Dialect::MySQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT 'abc\\", Dialect::MySQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT $x$ abc", Dialect::PostgreSQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT /* /* */", Dialect::PostgreSQL), Errc::Invalid);
  EXPECT_EQ(tr_err("SELECT [abc", Dialect::SQLite), Errc::Invalid);
}

TEST(BindOrder, LooksUpByName) {
  Params ps{{"a", "1"}, {"b", std::nullopt}, {"c", std::string("x\0y", 3)}};
  auto r = bind_order({"c", "a", "b", "a"}, ps);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0], std::string("x\0y", 3));
  EXPECT_EQ((*r)[1], "1");
  EXPECT_FALSE((*r)[2].has_value());
  EXPECT_EQ((*r)[3], "1");
  auto missing = bind_order({"a", "zz"}, ps);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, Errc::Invalid);
  EXPECT_NE(missing.error().message.find(":zz"), std::string::npos);
  EXPECT_TRUE(bind_order({}, {}).ok());
}

TEST(ParseUrl, Sqlite) {
  auto a = parse_url("sqlite:///var/lib/mailfort/directory.sqlite");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->dialect, Dialect::SQLite);
  EXPECT_EQ(a->path, "/var/lib/mailfort/directory.sqlite");
  auto b = parse_url("sqlite:relative/dir.sqlite");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path, "relative/dir.sqlite");
  EXPECT_EQ(parse_url("sqlite:/abs%20x")->path, "/abs x");
  EXPECT_EQ(b->display(), "sqlite:relative/dir.sqlite");
  EXPECT_FALSE(parse_url("sqlite:").ok());
  EXPECT_FALSE(parse_url("sqlite://host/x").ok());
  EXPECT_FALSE(parse_url("sqlite:/x?mode=ro").ok());
}

TEST(ParseUrl, MySql) {
  auto a = parse_url("mysql://vmail@127.0.0.1:3306/vmail");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->dialect, Dialect::MySQL);
  EXPECT_EQ(a->user, "vmail");
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 3306);
  EXPECT_EQ(a->database, "vmail");
  EXPECT_TRUE(a->password.empty());
  EXPECT_EQ(a->display(), "mysql://127.0.0.1:3306/vmail");

  auto b = parse_url("mariadb://vmail@localhost/vmail?socket=/run/mysqld/mysqld.sock");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->dialect, Dialect::MySQL);
  EXPECT_EQ(b->host, "localhost");
  EXPECT_EQ(b->port, 0);
  EXPECT_EQ(b->socket, "/run/mysqld/mysqld.sock");
  EXPECT_EQ(b->display(), "mysql://localhost/vmail?socket=/run/mysqld/mysqld.sock");

  auto c = parse_url("MySQL://mail%40user@[::1]:3307/mail%2Ddb");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->user, "mail@user");
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 3307);
  EXPECT_EQ(c->database, "mail-db");
  EXPECT_EQ(c->display(), "mysql://[::1]:3307/mail-db");
}

TEST(ParseUrl, PostgreSql) {
  auto a = parse_url("postgresql://vmail@127.0.0.1:5432/vmail");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->dialect, Dialect::PostgreSQL);
  EXPECT_EQ(a->port, 5432);
  EXPECT_EQ(a->display(), "postgresql://127.0.0.1:5432/vmail");
  auto b = parse_url("postgres://vmail@/vmail?host=/var/run/postgresql");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->dialect, Dialect::PostgreSQL);
  EXPECT_EQ(b->host, "");
  EXPECT_EQ(b->socket, "/var/run/postgresql");
  EXPECT_EQ(b->user, "vmail");
  EXPECT_EQ(b->display(), "postgresql:///vmail?host=/var/run/postgresql");
  auto c = parse_url("postgresql://db.example/vmail");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->user, "");
}

TEST(ParseUrl, Refused) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (auto [url, says] : std::initializer_list<Case>{
           {"mysql://vmail:secret@host/vmail", "password_file"},
           {"postgresql://vmail:@host/vmail", "password_file"},
           {"mysql://vmail:s%40cr@t@host/vmail", "password_file"},
           {"ftp://host/x", "unknown scheme"},
           {"vmail", "no scheme"},
           {"mysql:host/vmail", "//"},
           {"mysql://vmail@host", "no database"},
           {"mysql://vmail@host/", "no database"},
           {"mysql://vmail@host:0/vmail", "port"},
           {"mysql://vmail@host:70000/vmail", "port"},
           {"mysql://vmail@host:33a/vmail", "port"},
           {"mysql://vmail@host:/vmail", "port"},
           {"mysql://vmail@[::1/vmail", "'['"},
           {"mysql://vmail@host/vmail?sslmode=require", "unknown parameter 'sslmode'"},
           {"mysql://vmail@host/vmail?host=/tmp", "unknown parameter 'host'"},
           {"postgresql://vmail@host/vmail?socket=/tmp", "unknown parameter 'socket'"},
           {"postgresql://vmail@host/vmail?host=relative", "absolute"},
           {"mysql://vmail@host/vmail?socket=/a&socket=/b", "twice"},
           {"mysql://vm%ail@host/vmail", "%-escape"},
           {"mysql://vmail@host/vm%00ail", "%-escape"},
           {"mysql://vmail@host/a/b", "'/'"},
       }) {
    auto r = parse_url(url);
    ASSERT_FALSE(r.ok()) << url;
    EXPECT_EQ(r.error().code, Errc::Invalid) << url;
    EXPECT_NE(r.error().message.find(says), std::string::npos) << url << ": " << r.error().message;
    EXPECT_EQ(r.error().message.find("secret"), std::string::npos) << url;
  }
}

TEST(ParseUrl, DisplayHidesUserAndPassword) {
  auto a = parse_url("postgresql://vmail@127.0.0.1/vmail");
  ASSERT_TRUE(a.ok());
  a->password = "secret";
  EXPECT_EQ(a->display().find("secret"), std::string::npos);
  EXPECT_EQ(a->display().find("vmail@"), std::string::npos);
}

TEST(Dialect, Names) {
  EXPECT_STREQ(dialect_name(Dialect::SQLite), "sqlite");
  EXPECT_STREQ(dialect_name(Dialect::MySQL), "mysql");
  EXPECT_STREQ(dialect_name(Dialect::PostgreSQL), "postgresql");
}
