// searchable_addresses(): the normalised text SEARCH FROM/TO/CC/BCC match
// against (imaptest's search-addresses cases and the other address forms).
#include <gtest/gtest.h>

#include "proto/mime/mime.h"

namespace mailfort::proto::mime {
namespace {

TEST(SearchableAddresses, EveryFormBecomesNameAngleAddress) {
  EXPECT_EQ(searchable_addresses("user-from@domain.org"), "user-from@domain.org");
  EXPECT_EQ(searchable_addresses("RealFrom <user-from@domain.org>"), "RealFrom <user-from@domain.org>");
  // Comments inside the address go; a lone comment after an addr-spec is the name.
  EXPECT_EQ(searchable_addresses("<user-from (comment)@ (comment) domain.org>"), "user-from@domain.org");
  EXPECT_EQ(searchable_addresses("user-from@domain.org (RealFrom)"), "RealFrom <user-from@domain.org>");
  EXPECT_EQ(searchable_addresses("a@b.org, c@d.org"), "a@b.org, c@d.org");
  EXPECT_EQ(searchable_addresses("\"Doe, John\" <\"j d\"@x.org>"), "Doe, John <j d@x.org>");
  EXPECT_EQ(searchable_addresses("Ann <@r1.org,@r2.org:ann@x.org>"), "Ann <@r1.org,@r2.org:ann@x.org>");
  EXPECT_EQ(searchable_addresses("=?UTF-8?Q?J=C3=BCrgen?= <j@x.org>"), "J\xc3\xbcrgen <j@x.org>");
}

TEST(SearchableAddresses, Groups) {
  EXPECT_EQ(searchable_addresses("groupname: groupuser1@domain.org, groupuser2@domain.org;,\r\n"
                                 "  groupname2: groupuser3@domain.org;"),
            "groupname: groupuser1@domain.org, groupuser2@domain.org;, groupname2: groupuser3@domain.org;");
  EXPECT_EQ(searchable_addresses("groupname:;"), "groupname;");
  EXPECT_EQ(searchable_addresses("undisclosed-recipients:;"), "undisclosed-recipients;");
}

TEST(SearchableAddresses, BrokenInputIsKeptSearchable) {
  EXPECT_EQ(searchable_addresses(""), "");
  EXPECT_EQ(searchable_addresses("just a name"), "just a name <MISSING_MAILBOX@MISSING_DOMAIN>");
  EXPECT_EQ(searchable_addresses("user"), "user@MISSING_DOMAIN");
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "a@b,";
  EXPECT_LE(searchable_addresses(many).size(), 10000u * 6);  // bounded like ENVELOPE
}

}  // namespace
}  // namespace mailfort::proto::mime
