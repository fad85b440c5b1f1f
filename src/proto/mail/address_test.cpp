#include "proto/mail/address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailfort::proto::mail {
namespace {

std::vector<std::string> addrs(std::string_view v) {
  auto r = parse_address_list(v);
  EXPECT_TRUE(r.ok()) << v << ": " << address_error_name(r.error);
  std::vector<std::string> out;
  for (const auto& m : r.mailboxes) out.push_back(m.str());
  return out;
}

AddressError error_of(std::string_view v) {
  return parse_address_list(v).error;
}

using V = std::vector<std::string>;

TEST(HeaderAddress, PlainAndAngle) {
  EXPECT_EQ(addrs(" bob@example.test\r\n"), V{"bob@example.test"});
  EXPECT_EQ(addrs("<bob@example.test>"), V{"bob@example.test"});
  EXPECT_EQ(addrs(" < bob@example.test > "), V{"bob@example.test"});
  EXPECT_EQ(addrs("Bob@Example.TEST"), V{"Bob@example.test"});  // the domain is lower-cased
}

TEST(HeaderAddress, DisplayNames) {
  EXPECT_EQ(addrs("Bob Smith <bob@example.test>"), V{"bob@example.test"});
  EXPECT_EQ(addrs("\"Smith, Bob\" <bob@example.test>"), V{"bob@example.test"});
  EXPECT_EQ(addrs("\"alice@example.test\" <bob@example.test>"), V{"bob@example.test"});
  EXPECT_EQ(addrs("John Q. Public <jqp@example.test>"), V{"jqp@example.test"});  // obs-phrase
  EXPECT_EQ(addrs("=?utf-8?Q?J=C3=B6rg?= <j@example.test>"), V{"j@example.test"});
  EXPECT_EQ(addrs("=?utf-8?B?QWxpY2U=?= <j@example.test>"), V{"j@example.test"});
  EXPECT_EQ(addrs("Jörg Müller <jörg@example.test>"), V{"jörg@example.test"});  // RFC 6532
}

TEST(HeaderAddress, CommentsAreDropped) {
  EXPECT_EQ(addrs("bob@example.test (Bob Smith)"), V{"bob@example.test"});
  EXPECT_EQ(addrs("(alice@example.test) bob@example.test"), V{"bob@example.test"});
  EXPECT_EQ(addrs("bob@example.test (a (nested \\) comment) here)"), V{"bob@example.test"});
  EXPECT_EQ(addrs("Bob (x) <bob@example.test> (y)"), V{"bob@example.test"});
  EXPECT_EQ(addrs("bob (c) @ (d) example.test"), V{"bob@example.test"});  // CFWS around the '@'
}

TEST(HeaderAddress, FoldedLines) {
  EXPECT_EQ(addrs(" Bob\r\n Smith\r\n\t<bob@example.test>\r\n"), V{"bob@example.test"});
  EXPECT_EQ(addrs(" a@example.test,\r\n b@example.test\r\n"), (V{"a@example.test", "b@example.test"}));
  auto r = parse_address_list("\"a\r\n b\"@example.test");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.mailboxes[0].local, "a b");
}

TEST(HeaderAddress, QuotedLocalParts) {
  auto r = parse_address_list("\"bob\"@example.test");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.mailboxes[0].local, "bob");
  EXPECT_TRUE(r.mailboxes[0].quoted);
  EXPECT_EQ(addrs("\"alice@example.test\"@evil.test"), V{"alice@example.test@evil.test"});
  EXPECT_EQ(addrs("\"a\\\"b\"@example.test"), V{"a\"b@example.test"});
}

TEST(HeaderAddress, ListsAndGroups) {
  EXPECT_EQ(addrs("bob@example.test, Alice <alice@example.test>"),
            (V{"bob@example.test", "alice@example.test"}));
  EXPECT_EQ(addrs("a@example.test, , b@example.test,"), (V{"a@example.test", "b@example.test"}));
  auto g = parse_address_list("Team: a@example.test, B <b@example.test>;, c@example.test");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g.groups, 1u);
  EXPECT_EQ(g.mailboxes.size(), 3u);
  auto empty = parse_address_list("undisclosed-recipients:;");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.groups, 1u);
  EXPECT_TRUE(empty.mailboxes.empty());
  EXPECT_TRUE(parse_address_list("").ok());
  EXPECT_TRUE(parse_address_list(" \r\n").mailboxes.empty());
}

TEST(HeaderAddress, DomainLiteral) {
  auto r = parse_address_list("bob@[192.0.2.1]");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.mailboxes[0].domain_literal);
  EXPECT_EQ(r.mailboxes[0].domain, "[192.0.2.1]");
}

TEST(HeaderAddress, SyntaxErrors) {
  for (const char* bad : {
           "bob@example.test <alice@example.test>",  // addr-spec then angle
           "Alice alice@example.test",               // display name without angle brackets
           "bob@example.test alice",                 //
           "bob@example.test.",                      // trailing dot
           "bob.@example.test",                      //
           ".bob@example.test",                      //
           "bo..b@example.test",                     //
           "bob@",                                   //
           "@example.test",                          //
           "<>",                                     //
           "<bob@example.test",                      // unterminated
           "\"bob@example.test",                     //
           "bob@example.test (unterminated",         //
           "bob@example.test)",                      //
           "bob@@example.test",                      //
           "a@b@example.test",                       //
           "bob@exa mple.test",                      //
           "bob @example . test",                    // obs-domain CFWS
           "bob . smith@example.test",               // obs-local-part CFWS
           "\"bob\".smith@example.test",             // obs-local-part mixing
           "<@relay.test:bob@example.test>",         // obs-route
           "a\\b@example.test",                      //
           "bob@example.test\r\nX-Injected: 1",      // a line break without a blank
           "bob@example.test\nfoo",                  //
           "bob@exa\x01mple.test",                   //
           "G: a@example.test",                      // unterminated group
           "G: H: a@example.test;;",                 // nested group
           "G: a@example.test; b@example.test",      // no comma after the group
           "bob@[1.2.3.4",                           //
       }) {
    EXPECT_EQ(error_of(bad), AddressError::Syntax) << bad;
    EXPECT_TRUE(parse_address_list(bad).mailboxes.empty()) << bad;
  }
}

TEST(HeaderAddress, Limits) {
  std::string many;
  for (int i = 0; i < 101; ++i) many += "a@example.test,";
  EXPECT_EQ(error_of(many), AddressError::TooMany);
  AddressLimits two{2, 16};
  EXPECT_EQ(parse_address_list("a@x.test, b@x.test, c@x.test", two).error, AddressError::TooMany);
  std::string deep = "bob@example.test " + std::string(17, '(') + std::string(17, ')');
  EXPECT_EQ(error_of(deep), AddressError::TooDeep);
  std::string ok_depth = "bob@example.test " + std::string(16, '(') + std::string(16, ')');
  EXPECT_EQ(addrs(ok_depth), V{"bob@example.test"});
}

TEST(HeaderAddress, HugeInputIsLinear) {
  std::string big(1 << 20, 'a');
  EXPECT_EQ(error_of(big), AddressError::Syntax);
  std::string comment = "(" + std::string(1 << 20, 'x') + ") b@example.test";
  EXPECT_EQ(addrs(comment), V{"b@example.test"});
}

}  // namespace
}  // namespace mailfort::proto::mail
