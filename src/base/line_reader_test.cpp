#include "base/line_reader.h"

#include <gtest/gtest.h>

#include <vector>

using mailfort::LineReader;
using S = LineReader::Status;

namespace {

struct Event {
  S status;
  std::string line;
  bool operator==(const Event&) const = default;
};

std::vector<Event> run(LineReader& r, std::string_view in, bool bytewise) {
  std::vector<Event> out;
  auto drain = [&] {
    std::string line;
    for (S s; (s = r.next(line)) != S::NeedMore;) out.push_back({s, line});
  };
  if (bytewise) {
    for (char c : in) {
      r.feed(std::string_view(&c, 1));
      drain();
    }
  } else {
    r.feed(in);
    drain();
  }
  return out;
}

class LineReaderTest : public ::testing::TestWithParam<bool> {};

TEST_P(LineReaderTest, SplitsCrlfLines) {
  LineReader r(100);
  auto ev = run(r, "EHLO a\r\nNOOP\r\n\r\nQUIT", GetParam());
  std::vector<Event> want{{S::Line, "EHLO a"}, {S::Line, "NOOP"}, {S::Line, ""}};
  EXPECT_EQ(ev, want);
  EXPECT_EQ(r.buffered(), 4u);
}

TEST_P(LineReaderTest, BareLfIsReported) {
  LineReader r(100);
  auto ev = run(r, "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n", GetParam());
  std::vector<Event> want{{S::BareLf, "MAIL FROM:<a@b>"}, {S::Line, "RCPT TO:<c@d>"}};
  EXPECT_EQ(ev, want);
}

TEST_P(LineReaderTest, BareCrIsReported) {
  LineReader r(100);
  auto ev = run(r, "a\rb\r\n.\r\r\n", GetParam());
  std::vector<Event> want{{S::BareCr, "a\rb"}, {S::BareCr, ".\r"}};
  EXPECT_EQ(ev, want);
}

TEST_P(LineReaderTest, SmugglingDotVariants) {
  LineReader r(100);
  auto ev = run(r, "x\r\n\n.\n\r.\r\n", GetParam());
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].status, S::Line);
  EXPECT_EQ(ev[1].status, S::BareLf);  // empty line ended by bare LF
  EXPECT_EQ(ev[2].status, S::BareLf);  // ".\n"
  EXPECT_EQ(ev[3].status, S::BareCr);  // "\r.\r\n"
}

TEST_P(LineReaderTest, OverlongLineReportedOnceThenResyncs) {
  LineReader r(8);
  std::string in = std::string(50, 'x') + "\r\nNOOP\r\n";
  auto ev = run(r, in, GetParam());
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].status, S::TooLong);
  EXPECT_EQ(ev[0].line, std::string(8, 'x'));
  EXPECT_EQ(ev[1], (Event{S::Line, "NOOP"}));
}

TEST_P(LineReaderTest, ExactlyMaxIsAccepted) {
  LineReader r(8);
  auto ev = run(r, "12345678\r\n123456789\r\n", GetParam());
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0], (Event{S::Line, "12345678"}));
  EXPECT_EQ(ev[1].status, S::TooLong);
}

TEST_P(LineReaderTest, MemoryStaysBoundedWhileDraining) {
  LineReader r(16);
  std::string chunk(1000, 'y');
  std::string line;
  int toolong = 0;
  for (int i = 0; i < 1000; ++i) {
    r.feed(chunk);
    for (S s; (s = r.next(line)) != S::NeedMore;) toolong += s == S::TooLong;
    EXPECT_LE(r.buffered(), 17u);
  }
  EXPECT_EQ(toolong, 1);
  r.feed("\r\nQUIT\r\n");
  EXPECT_EQ(r.next(line), S::Line);
  EXPECT_EQ(line, "QUIT");
}

TEST(LineReader, TakeBufferedReturnsPipelinedBytes) {
  LineReader r(100);
  r.feed("STARTTLS\r\nMAIL FROM:<x@y>\r\n");
  std::string line;
  ASSERT_EQ(r.next(line), S::Line);
  EXPECT_EQ(r.take_buffered(), "MAIL FROM:<x@y>\r\n");
  EXPECT_EQ(r.buffered(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Feeding, LineReaderTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "bytewise" : "whole"; });

}  // namespace
