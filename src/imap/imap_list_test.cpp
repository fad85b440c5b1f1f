// list_entries(): what LIST and LSUB return (RFC 3501 6.3.9, RFC 5258),
// on the folder tree of imaptest's listext and subscribe scripts.
#include "imap/imap_list.h"

#include <gtest/gtest.h>

namespace mailfort::imap {
namespace {

std::vector<ListFolder> tree(std::vector<std::string> names) {
  std::vector<ListFolder> out;
  for (auto& n : names) out.push_back({n, n == "Sent" ? "\\Sent" : ""});
  return out;
}

// "name[flags]" per entry: x nonexistent, s subscribed, c has children,
// n not selected, S CHILDINFO SUBSCRIBED, U CHILDINFO SPECIAL-USE.
std::string run(const std::vector<ListFolder>& folders, const std::vector<std::string>& subs, ListQuery q) {
  std::string out;
  for (const auto& e : list_entries(folders, subs, q)) {
    out += (out.empty() ? "" : " ") + e.name + "[";
    if (!e.exists) out += 'x';
    if (e.subscribed) out += 's';
    if (e.has_children) out += 'c';
    if (!e.selected) out += 'n';
    if (e.child_subscribed) out += 'S';
    if (e.child_special_use) out += 'U';
    out += "]";
  }
  return out;
}

const auto kFolders = tree({"INBOX", "Sent", "m", "m/t1", "m/t2", "m/t2/t1", "m/t3", "m/t4", "m/t4/t5",
                            "m/t7", "m/t7/t7", "m/t8", "m/t8/t8", "m/t8/t9"});
const std::vector<std::string> kSubs = {"INBOX", "m/t1", "m/t2/t1", "m/t6", "m/t7/t7", "m/t8/t8", "m/t8/t9"};

TEST(ImapList, PlainListMatchesFoldersAndInboxInAnyCase) {
  ListQuery q;
  q.patterns = {"m/%"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t1[s] m/t2[c] m/t3[] m/t4[c] m/t7[c] m/t8[c]");
  q.patterns = {"inbox", "%ent"};
  EXPECT_EQ(run(kFolders, kSubs, q), "INBOX[s] Sent[]");
  q.patterns = {"Inb%"};
  EXPECT_EQ(run(kFolders, kSubs, q), "INBOX[s]");
  q.patterns = {"m/*2", "m/t3"};  // several patterns, each name once
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t2[c] m/t3[]");
}

TEST(ImapList, ParentsThatDoNotExistAreListedForTheirChildren) {
  ListQuery q;
  q.patterns = {"%"};
  EXPECT_EQ(run(tree({"a/b/c"}), {}, q), "a[xc]");
  q.patterns = {"a/%"};
  EXPECT_EQ(run(tree({"a/b/c"}), {}, q), "a/b[xc]");
}

TEST(ImapList, SubscribedSelectionListsDeletedFolders) {
  ListQuery q;
  q.select_subscribed = true;
  q.patterns = {"m/*"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t1[s] m/t2/t1[s] m/t6[xs] m/t7/t7[s] m/t8/t8[s] m/t8/t9[s]");
}

TEST(ImapList, RecursiveMatchGivesChildInfoOnlyForChildrenNotListed) {
  ListQuery q;
  q.select_subscribed = q.recursive_match = true;
  q.patterns = {"m/t2%"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t2[cnS]");
  q.patterns = {"m*t7"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t7/t7[s]");
  q.patterns = {"m*t8"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t8[cnS] m/t8/t8[s]");
  q.patterns = {"m/t2", "m/t2/t1"};
  EXPECT_EQ(run(kFolders, kSubs, q), "m/t2/t1[s]");
  q = {};
  q.select_special_use = q.recursive_match = true;
  q.patterns = {"%"};
  EXPECT_EQ(run(tree({"Sent", "a/Sent"}), {}, q), "Sent[]");
  EXPECT_EQ(run({{"a", ""}, {"a/s", "\\Sent"}}, {}, q), "a[cnU]");
}

TEST(ImapList, LsubGivesNoselectParentsOfSubscriptionsPercentDoesNotReach) {
  auto folders = tree({"m", "m/test", "m/test2", "m/test2/test", "m/test3", "m/test3/test3"});
  std::vector<std::string> subs = {"m/test", "m/test2/test", "m/test3/test3"};
  ListQuery q;
  q.lsub = true;
  q.patterns = {"m/%"};
  EXPECT_EQ(run(folders, subs, q), "m/test[s] m/test2[cnS] m/test3[cnS]");
  q.patterns = {"*test"};
  EXPECT_EQ(run(folders, subs, q), "m/test[s] m/test2/test[s]");
  q.patterns = {"m/*"};
  subs = {"m/gone"};
  EXPECT_EQ(run(folders, subs, q), "m/gone[xs]");
}

}  // namespace
}  // namespace mailfort::imap
