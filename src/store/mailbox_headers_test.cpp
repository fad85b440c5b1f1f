// UserMailbox::headers(): the header blocks SORT and THREAD read in one batch.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

struct HeadersFixture {
  fs::path root;
  std::unique_ptr<GroupCommit> commit;
  std::unique_ptr<MailStore> store;
  HeadersFixture() {
    char tmpl[] = "/tmp/mf-headers-XXXXXX";
    root = ::mkdtemp(tmpl);
    commit = std::move(GroupCommit::start(root.string()).value());
    store = std::make_unique<MailStore>(root.string(), "host.test", *commit);
  }
  ~HeadersFixture() {
    commit.reset();
    fs::remove_all(root);
  }
};

TEST(MailboxHeaders, HeaderBlocksOnlyCappedAndGone) {
  HeadersFixture f;
  auto mb = UserMailbox::open(f.store->maildir_of("bob@example.test"), "host.test", *f.commit, f.store.get(),
                              "bob@example.test", {}, [](std::string_view) { return std::string(); });
  ASSERT_TRUE(mb);
  auto inbox = (*mb)->status("INBOX")->id;
  std::string big_body(100000, 'b');
  ASSERT_TRUE((*mb)->append("INBOX", "Subject: one\r\n\r\n" + big_body, 0, {}, 0));
  ASSERT_TRUE((*mb)->append("INBOX", "Subject: two\nX: y\n\nbody\n", 0, {}, 0));
  ASSERT_TRUE((*mb)->append("INBOX", "Subject: " + std::string(40000, 's') + "\r\n\r\nbody", 0, {}, 0));
  ASSERT_TRUE((*mb)->append("INBOX", "Subject: no body", 0, {}, 0));
  auto got = (*mb)->headers(inbox, {2, 1, 99, 3, 4}, 20000);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 5u);
  EXPECT_EQ((*got)[0], "Subject: two\nX: y\n\n");
  EXPECT_EQ((*got)[1], "Subject: one\r\n\r\n");
  EXPECT_FALSE((*got)[2]);  // no such message
  ASSERT_TRUE((*got)[3]);
  EXPECT_EQ((*got)[3]->size(), 20000u);  // cut at the cap
  EXPECT_EQ((*got)[4], "Subject: no body");
  EXPECT_TRUE((*mb)->headers(inbox, {}, 100)->empty());
}

}  // namespace
