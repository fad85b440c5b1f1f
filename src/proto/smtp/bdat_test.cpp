#include "proto/smtp/bdat.h"

#include <gtest/gtest.h>

#include <string>

namespace mailfort::proto::smtp {
namespace {

using Admit = ChunkReceiver::Admit;
using Outcome = ChunkReceiver::Outcome;

TEST(Bdat, Arguments) {
  auto a = parse_bdat_args("123");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->size, 123u);
  EXPECT_FALSE(a->last);
  auto b = parse_bdat_args("0 last");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->size, 0u);
  EXPECT_TRUE(b->last);
  for (const char* bad : {"", "x", "12x", "-1", "+1", " 1", "1 FIRST", "1 LAST x", "1  LAST", "1 ",
                          "99999999999999999999999"}) {
    EXPECT_FALSE(parse_bdat_args(bad)) << bad;
  }
}

// Feeds a chunk the way the session does: read, admit, keep. `step`: the
// bytes per read.
Outcome feed(ChunkReceiver& r, std::string& message, std::string_view chunk, bool last, std::size_t step,
             bool has_mail = true, bool has_recipients = true) {
  r.begin_chunk({chunk.size(), last}, has_mail, has_recipients);
  std::size_t pos = 0;
  while (r.remaining() > 0) {
    std::size_t n = std::min<std::size_t>(step, r.remaining());
    switch (r.admit(n)) {
      case Admit::Keep:
        message.append(chunk.substr(pos, n));
        break;
      case Admit::DropMessage:
        message.clear();
        break;
      case Admit::Skip:
        break;
    }
    pos += n;
  }
  EXPECT_EQ(pos, chunk.size());
  return r.end_chunk();
}

TEST(Bdat, ChunksMakeOneMessageWholeAndByteByByte) {
  for (std::size_t step : {std::size_t{1}, std::size_t{3}, std::size_t{1000}}) {
    ChunkReceiver r(100);
    std::string message;
    EXPECT_EQ(feed(r, message, "Subject: x\r\n\r\n", false, step), Outcome::ChunkAccepted);
    EXPECT_EQ(r.chunk_size(), 14u);
    EXPECT_TRUE(r.in_use());
    EXPECT_EQ(feed(r, message, "", false, step), Outcome::ChunkAccepted);
    EXPECT_EQ(feed(r, message, "body\r\n", true, step), Outcome::Complete);
    EXPECT_EQ(message, "Subject: x\r\n\r\nbody\r\n");
    EXPECT_FALSE(r.in_use());  // the transaction is over
  }
}

TEST(Bdat, RefusedChunksAreConsumed) {
  ChunkReceiver r(100);
  std::string message;
  EXPECT_EQ(feed(r, message, "hello", true, 2, false, false), Outcome::NeedMail);
  EXPECT_EQ(feed(r, message, "hello", false, 2, true, false), Outcome::NoRecipients);
  EXPECT_EQ(message, "");
  EXPECT_FALSE(r.in_use());  // RCPT may still come
}

TEST(Bdat, OverTheLimitDrainsToTheLastChunk) {
  ChunkReceiver r(10);
  std::string message;
  EXPECT_EQ(feed(r, message, "12345678", false, 3), Outcome::ChunkAccepted);
  EXPECT_EQ(feed(r, message, "90ab", true, 3), Outcome::TooBig);
  EXPECT_EQ(message, "");
  EXPECT_FALSE(r.in_use());
  // Exactly the limit is fine; a new transaction starts from zero.
  EXPECT_EQ(feed(r, message, "1234567890", true, 4), Outcome::Complete);
  EXPECT_EQ(message, "1234567890");
}

TEST(Bdat, TooBigIsReportedOnceTheChunkIsRead) {
  ChunkReceiver r(4);
  std::string message;
  EXPECT_EQ(feed(r, message, "123456", false, 1), Outcome::TooBig);  // not LAST: still the chunk's reply
  EXPECT_FALSE(r.in_use());
}

TEST(Bdat, OutOfMemoryDropsTheRest) {
  ChunkReceiver r(100);
  r.begin_chunk({6, false}, true, true);
  EXPECT_EQ(r.admit(2), Admit::Keep);
  r.out_of_memory();
  EXPECT_EQ(r.admit(4), Admit::Skip);
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(r.end_chunk(), Outcome::OutOfMemory);
  EXPECT_FALSE(r.in_use());
}

TEST(Bdat, ResetForgetsTheTransaction) {
  ChunkReceiver r(10);
  std::string message;
  EXPECT_EQ(feed(r, message, "123456", false, 6), Outcome::ChunkAccepted);
  r.reset();
  EXPECT_FALSE(r.in_use());
  message.clear();
  EXPECT_EQ(feed(r, message, "1234567890", true, 6), Outcome::Complete);  // the old 6 bytes do not count
}

}  // namespace
}  // namespace mailfort::proto::smtp
