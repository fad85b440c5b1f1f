// OBJECTID (RFC 8474) and SAVEDATE (RFC 8514) in the mailbox index: what
// COPY, MOVE, RENAME and re-creating a folder do to the ids, and rows an
// older binary inserts.
#include <unistd.h>

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>

#include "base/sqlite.h"
#include "store/group_commit.h"
#include "store/mail_store.h"
#include "store/mailbox.h"

namespace fs = std::filesystem;
using namespace mailfort;
using namespace mailfort::store;

namespace {

struct IdsFixture {
  fs::path root;
  std::unique_ptr<GroupCommit> commit;
  std::unique_ptr<MailStore> store;
  IdsFixture() {
    char tmpl[] = "/tmp/mf-mailbox-ids-XXXXXX";
    root = ::mkdtemp(tmpl);
    commit = std::move(GroupCommit::start(root.string()).value());
    store = std::make_unique<MailStore>(root.string(), "host.test", *commit);
  }
  ~IdsFixture() {
    commit.reset();
    fs::remove_all(root);
  }
  std::string maildir() { return store->maildir_of("bob@example.test"); }
  std::shared_ptr<UserMailbox> open() {
    auto mb = UserMailbox::open(maildir(), "host.test", *commit, store.get(), "bob@example.test", {},
                                [](std::string_view m) { return std::string(m.substr(0, 10)); });
    EXPECT_TRUE(mb) << mb.error().message;
    return mb ? *mb : nullptr;
  }
};

MessageIds ids_of(UserMailbox& mb, std::string_view folder, uint32_t uid) {
  auto st = mb.status(folder);
  EXPECT_TRUE(st);
  auto ids = mb.object_ids(st->id, {uid});
  EXPECT_TRUE(ids && (*ids)[0]);
  return ids && (*ids)[0] ? *(*ids)[0] : MessageIds{};
}

TEST(MailboxIds, EmailIdKeptByCopyAndMoveSaveDateIsNow) {
  IdsFixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("Keep"));
  ASSERT_TRUE(mb->create("Moved"));
  auto a = mb->append("INBOX", "Subject: a\r\n\r\nx\r\n", 0, {}, 1000000000);
  auto b = mb->append("INBOX", "Subject: a\r\n\r\nx\r\n", 0, {}, 1000000000);
  ASSERT_TRUE(a && b);
  auto ia = ids_of(*mb, "INBOX", a->uid), ib = ids_of(*mb, "INBOX", b->uid);
  EXPECT_EQ(ia.emailid.size(), 25u);
  EXPECT_EQ(ia.emailid[0], 'M');
  EXPECT_NE(ia.emailid, ib.emailid);                         // the same bytes, another message
  EXPECT_LE(std::abs(ia.savedate - std::time(nullptr)), 5);  // not the internal date
  int64_t inbox = mb->status("INBOX")->id;
  auto copied = mb->copy(inbox, {a->uid}, "Keep", false);
  auto moved = mb->copy(inbox, {b->uid}, "Moved", true);
  ASSERT_TRUE(copied && moved);
  EXPECT_EQ(ids_of(*mb, "Keep", copied->dest_uids[0]).emailid, ia.emailid);
  EXPECT_EQ(ids_of(*mb, "Moved", moved->dest_uids[0]).emailid, ib.emailid);
  auto gone = mb->object_ids(inbox, {b->uid, 999});
  ASSERT_TRUE(gone);
  EXPECT_FALSE((*gone)[0]);
  EXPECT_FALSE((*gone)[1]);
}

TEST(MailboxIds, MailboxIdKeptByRenameNewWhenRecreated) {
  IdsFixture f;
  auto mb = f.open();
  ASSERT_TRUE(mb->create("A/B"));
  auto id_a = *mb->mailbox_id(mb->status("A")->id);
  auto id_b = *mb->mailbox_id(mb->status("A/B")->id);
  EXPECT_EQ(id_a[0], 'F');
  EXPECT_NE(id_a, id_b);
  ASSERT_TRUE(mb->rename("A", "C"));
  EXPECT_EQ(*mb->mailbox_id(mb->status("C")->id), id_a);
  EXPECT_EQ(*mb->mailbox_id(mb->status("C/B")->id), id_b);
  ASSERT_TRUE(mb->remove("C/B"));
  ASSERT_TRUE(mb->create("C/B"));
  EXPECT_NE(*mb->mailbox_id(mb->status("C/B")->id), id_b);
  // Renaming INBOX makes a new folder of its messages; INBOX keeps its id.
  auto inbox = *mb->mailbox_id(mb->status("INBOX")->id);
  ASSERT_TRUE(mb->rename("INBOX", "Old"));
  EXPECT_EQ(*mb->mailbox_id(mb->status("INBOX")->id), inbox);
  EXPECT_NE(*mb->mailbox_id(mb->status("Old")->id), inbox);
}

TEST(MailboxIds, RowsWithoutIdsGetThem) {
  // An older binary inserts rows without EMAILID and save date.
  IdsFixture f;
  auto mb = f.open();
  int64_t inbox = mb->status("INBOX")->id;
  {
    auto db = sqlite::Database::open(f.maildir() + "/mailfort-index.sqlite", {.wal = true});
    ASSERT_TRUE(db);
    std::string sql =
        "INSERT INTO message(folder, uid, file, flags, keywords, modseq, internaldate, size, cache)"
        " VALUES(" +
        std::to_string(inbox) + ", 77, 'x:2,', 0, '', 1, 5, 1, '')";
    ASSERT_TRUE(db->exec(sql.c_str()));
  }
  auto ids = mb->object_ids(inbox, {77});
  ASSERT_TRUE(ids && (*ids)[0]);
  EXPECT_EQ((*ids)[0]->emailid.size(), 25u);
  EXPECT_GT((*ids)[0]->savedate, 5);
}

}  // namespace
