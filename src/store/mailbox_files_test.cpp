// UserMailbox::files(): the message files of copies, as the spam learner
// reads them after a move into or out of Junk.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(MailboxFiles, FilesOfMovedMessagesInTheirNewFolder) {
  char tmpl[] = "/tmp/mf-files-XXXXXX";
  fs::path root = ::mkdtemp(tmpl);
  {
    auto commit = std::move(GroupCommit::start(root.string()).value());
    MailStore store(root.string(), "host.test", *commit);
    auto mb = UserMailbox::open(store.maildir_of("bob@example.test"), "host.test", *commit, &store,
                                "bob@example.test", {{"Junk", "\\Junk"}},
                                [](std::string_view) { return std::string(); });
    ASSERT_TRUE(mb);
    auto inbox = (*mb)->status("INBOX")->id;
    ASSERT_TRUE((*mb)->append("INBOX", "Subject: one\r\n\r\nfirst", 0, {}, 0));
    ASSERT_TRUE((*mb)->append("INBOX", "Subject: two\r\n\r\nsecond", 0, {}, 0));
    auto moved = (*mb)->copy(inbox, {1, 2}, "Junk", true);
    ASSERT_TRUE(moved);
    ASSERT_EQ(moved->dest_uids.size(), 2u);
    auto files = (*mb)->files("Junk", {moved->dest_uids[1], 999, moved->dest_uids[0]});
    ASSERT_TRUE(files);
    ASSERT_EQ(files->size(), 2u);  // 999 does not exist
    EXPECT_EQ(slurp((*files)[0]), "Subject: two\r\n\r\nsecond");
    EXPECT_EQ(slurp((*files)[1]), "Subject: one\r\n\r\nfirst");
    EXPECT_NE((*files)[0].find("/.Junk/cur/"), std::string::npos);
    // The moved messages are no longer in INBOX.
    EXPECT_TRUE((*mb)->files("inbox", {1, 2})->empty());
    auto missing = (*mb)->files("Nope", {1});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, Errc::NotFound);
  }
  fs::remove_all(root);
}

}  // namespace
