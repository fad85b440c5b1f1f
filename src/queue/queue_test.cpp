#include "queue/queue.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "store/group_commit.h"

namespace fs = std::filesystem;
using namespace mailfort;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/mf-queue-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

TEST(QueueEnvelope, RoundTripsAndStaysOneLine) {
  queue::Envelope e;
  e.id = "abc123";
  e.sender = "a@b.example";
  e.recipients.push_back({"x@y.example", queue::Recipient::State::Pending, 0, ""});
  e.recipients.push_back({"z@y.example", queue::Recipient::State::Failed, 3, "550 5.1.1 no\nsuch user"});
  e.arrival = 1700000000;
  e.smtputf8 = true;
  std::string line = queue::encode_envelope(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto d = queue::decode_envelope(line);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->sender, "a@b.example");
  ASSERT_EQ(d->recipients.size(), 2u);
  EXPECT_EQ(d->recipients[1].state, queue::Recipient::State::Failed);
  EXPECT_EQ(d->recipients[1].last_error, "550 5.1.1 no\nsuch user");
  EXPECT_TRUE(d->smtputf8);
  EXPECT_FALSE(queue::decode_envelope("{not json").ok());
  EXPECT_FALSE(queue::decode_envelope("{\"id\":1}").ok());
}

TEST(Queue, EnqueueIsDurableAndReadable) {
  TempDir t;
  auto gc = store::GroupCommit::start(t.path);
  ASSERT_TRUE(gc.ok());
  queue::Queue q(t.path.string(), *gc.value());
  queue::Envelope e;
  e.sender = "";
  e.recipients.push_back({"r@remote.example", queue::Recipient::State::Pending, 0, ""});
  std::string msg = "Subject: q\r\n\r\nqueued\r\n";
  auto id = q.enqueue(e, msg);
  ASSERT_TRUE(id.ok()) << id.error().message;
  auto ids = q.list();
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->size(), 1u);
  EXPECT_EQ(ids->front(), id.value());
  auto env = q.read_envelope(id.value());
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->recipients[0].address, "r@remote.example");
  EXPECT_GT(env->arrival, 0);
  EXPECT_EQ(q.read_message(id.value()).value(), msg);
  EXPECT_TRUE(fs::is_empty(t.path / "queue/tmp"));
  EXPECT_FALSE(q.read_envelope("../../etc/passwd").ok());
}

TEST(Queue, CleanupRemovesUncommittedFiles) {
  TempDir t;
  auto gc = store::GroupCommit::start(t.path);
  queue::Queue q(t.path.string(), *gc.value());
  std::ofstream(t.path / "queue/tmp/partial") << "MAILFORT-QUEUE 1\n{";
  q.cleanup_tmp();
  EXPECT_TRUE(fs::is_empty(t.path / "queue/tmp"));
  EXPECT_TRUE(q.list()->empty());
}

}  // namespace
