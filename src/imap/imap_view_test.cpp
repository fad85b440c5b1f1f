#include "imap/imap_view.h"

#include <gtest/gtest.h>

using namespace mailfort;
using imap::ImapView;

namespace {
store::MessageMeta meta(uint32_t uid, uint32_t flags, uint64_t modseq, std::vector<std::string> kw = {}) {
  store::MessageMeta m;
  m.uid = uid;
  m.flags = flags;
  m.modseq = modseq;
  m.keywords = std::move(kw);
  m.size = 1234;  // not kept by the view
  return m;
}
}  // namespace

TEST(ImapView, MapsSequenceNumbersToUidsAcrossChanges) {
  ImapView v;
  v.load({meta(3, 0, 1), meta(7, store::kSeen, 2, {"$Work"}), meta(9, 0, 3)});
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.uid(2), 7u);
  EXPECT_EQ(v.seq_of_uid(9), 3u);
  EXPECT_EQ(v.seq_of_uid(8), 0u);
  EXPECT_EQ(v.keywords(2), std::vector<std::string>{"$Work"});
  EXPECT_TRUE(v.keywords(1).empty());

  v.push(meta(12, 0, 4, {"$Todo"}));
  EXPECT_EQ(v.last_uid(), 12u);
  v.erase(2);  // UID 7 expunged: its keywords go too
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(v.seq_of_uid(9), 2u);
  EXPECT_EQ(v.seq_of_uid(7), 0u);
  EXPECT_EQ(v.keywords(3), std::vector<std::string>{"$Todo"});

  // Only a flag or keyword change counts as a change; MODSEQ is kept.
  EXPECT_FALSE(v.update(1, meta(3, 0, 10)));
  EXPECT_EQ(v.at(1).modseq, 10u);
  EXPECT_TRUE(v.update(1, meta(3, store::kFlagged, 11)));
  EXPECT_TRUE(v.update(3, meta(12, 0, 12)));  // keyword removed
  EXPECT_TRUE(v.keywords(3).empty());
  EXPECT_TRUE(v.update(2, meta(9, 0, 13, {"a"})));
  EXPECT_EQ(v.keywords(2), std::vector<std::string>{"a"});
  EXPECT_EQ(sizeof(ImapView::Entry), 16u);
}
