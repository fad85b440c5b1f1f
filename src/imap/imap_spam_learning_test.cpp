// Which COPY/MOVE teaches the spam filter what (the seed's antispam rules).
#include "imap/imap_spam_learning.h"

#include <gtest/gtest.h>

using namespace mailfort;
using namespace mailfort::imap;

namespace {

config::Imap folders(std::string junk, std::string trash) {
  config::Imap imap;
  imap.junk_folder = std::move(junk);
  imap.trash_folder = std::move(trash);
  return imap;
}

TEST(SpamLearningLesson, IntoJunkIsSpam) {
  auto imap = folders("Junk", "Trash");
  EXPECT_EQ(lesson_of_copy("INBOX", "Junk", imap), MoveLesson::Spam);
  EXPECT_EQ(lesson_of_copy("Archive/2026", "Junk", imap), MoveLesson::Spam);
  EXPECT_EQ(lesson_of_copy("Trash", "Junk", imap), MoveLesson::Spam);
}

TEST(SpamLearningLesson, OutOfJunkIsHamExceptIntoTrash) {
  auto imap = folders("Junk", "Trash");
  EXPECT_EQ(lesson_of_copy("Junk", "INBOX", imap), MoveLesson::Ham);
  EXPECT_EQ(lesson_of_copy("Junk", "inbox", imap), MoveLesson::Ham);
  EXPECT_EQ(lesson_of_copy("Junk", "Work", imap), MoveLesson::Ham);
  EXPECT_EQ(lesson_of_copy("Junk", "Trash", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("Junk", "Junk", imap), MoveLesson::None);
}

TEST(SpamLearningLesson, ElsewhereNothing) {
  auto imap = folders("Junk", "Trash");
  EXPECT_EQ(lesson_of_copy("INBOX", "Work", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("INBOX", "Trash", imap), MoveLesson::None);
  // Names other than INBOX are case-sensitive in the store: "junk" is
  // another folder.
  EXPECT_EQ(lesson_of_copy("INBOX", "junk", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("junk", "INBOX", imap), MoveLesson::None);
}

TEST(SpamLearningLesson, FolderNamesFromTheConfig) {
  auto imap = folders("Bulk", "Deleted Items");
  EXPECT_EQ(lesson_of_copy("INBOX", "Bulk", imap), MoveLesson::Spam);
  EXPECT_EQ(lesson_of_copy("Bulk", "Deleted Items", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("Bulk", "Trash", imap), MoveLesson::Ham);
  EXPECT_EQ(lesson_of_copy("INBOX", "Bulkmail", imap), MoveLesson::None);
}

TEST(SpamLearningLesson, JunkAndSpamAreSpamFoldersWhateverTheConfig) {
  // As Dovecot's antispam_spam = Junk;Spam: clients create "Junk", the
  // seed's Sieve script files into "Spam".
  auto imap = folders("Spam", "Deleted Items");
  EXPECT_EQ(lesson_of_copy("INBOX", "Spam", imap), MoveLesson::Spam);
  EXPECT_EQ(lesson_of_copy("INBOX", "Junk", imap), MoveLesson::Spam);
  EXPECT_EQ(lesson_of_copy("Junk", "Spam", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("Junk", "INBOX", imap), MoveLesson::Ham);
  EXPECT_EQ(lesson_of_copy("Spam", "Deleted Items", imap), MoveLesson::None);
  EXPECT_EQ(lesson_of_copy("Spam", "Trash", imap), MoveLesson::Ham);
  // The inbox as the Junk folder's name compares as the store does.
  auto odd = folders("Inbox", "Trash");
  EXPECT_EQ(lesson_of_copy("Work", "INBOX", odd), MoveLesson::Spam);
}

}  // namespace
