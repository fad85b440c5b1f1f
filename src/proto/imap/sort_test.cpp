#include "proto/imap/sort.h"

#include <gtest/gtest.h>

namespace mailfort::proto::imap {
namespace {

TEST(BaseSubject, Rfc5256Examples) {
  bool reply = false;
  EXPECT_EQ(base_subject("a", &reply), "a");
  EXPECT_FALSE(reply);
  EXPECT_EQ(base_subject("[foo] Fwd: [bar] Re: fw: b (fWd)  (fwd)", &reply), "b");
  EXPECT_TRUE(reply);
  EXPECT_EQ(base_subject("b (a)", &reply), "b (a)");
  EXPECT_FALSE(reply);
  EXPECT_EQ(base_subject("Re: [FWD: c]", &reply), "c");
  EXPECT_TRUE(reply);
  EXPECT_EQ(base_subject("[xyz]", &reply), "[xyz]");  // a blob alone stays
  EXPECT_FALSE(reply);
  EXPECT_EQ(base_subject(" "), "");
  EXPECT_EQ(base_subject("Re: b"), "b");
  EXPECT_EQ(base_subject("RE: C"), "C");
  EXPECT_EQ(base_subject("Ad: Re: Ad: Re: Ad: x"), "Ad: Re: Ad: Re: Ad: x");
  EXPECT_EQ(base_subject("re: [fwd: [fwd: re: [fwd: babylon]]]"), "babylon");
  EXPECT_EQ(base_subject("Re:\t  hello\r\n  world  "), "hello world");
  EXPECT_EQ(base_subject("Fw : x"), "x");
  EXPECT_EQ(base_subject("Re [2]: x"), "x");
  EXPECT_EQ(base_subject("[list] [other] Re: x"), "x");
  EXPECT_EQ(base_subject("[fwd: x"), "[fwd: x");
}

TEST(Casemap, TitlecasesAndDecomposes) {
  EXPECT_EQ(casemap("abc[_]"), "ABC[_]");
  EXPECT_EQ(casemap("\xC3\xA4"), "A\xCC\x88");  // ä -> A + COMBINING DIAERESIS
  EXPECT_EQ(casemap("A\xCC\x88"), "A\xCC\x88");
  EXPECT_EQ(casemap("\xFF\x80x"), "\xFF\x80X");  // invalid bytes kept
}

TEST(FirstAddress, Forms) {
  auto a = first_address("foo bar <user2@domain2.org>, x@y");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "foo bar");
  EXPECT_EQ(a->mailbox, "user2");
  EXPECT_EQ(a->domain, "domain2.org");
  a = first_address("user2@domain2.org (foo bar)");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mailbox, "user2");
  EXPECT_EQ(a->name, "foo bar");
  a = first_address("user2: blah@domain1.org;");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->group);
  EXPECT_EQ(a->mailbox, "user2");
  a = first_address("d");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mailbox, "d");
  EXPECT_EQ(a->domain, "");
  a = first_address("\"Last, First\" <a.b@c.d>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "Last, First");
  EXPECT_EQ(a->mailbox, "a.b");
  a = first_address("<@route,@r2:x@y>");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->mailbox, "x");
  EXPECT_EQ(a->domain, "y");
  EXPECT_FALSE(first_address(""));
  EXPECT_FALSE(first_address(" , ;"));
  EXPECT_FALSE(first_address("(((unterminated"));
}

TEST(DateTime, Rfc5322) {
  EXPECT_EQ(rfc5322_date_time("Fri, 22 Feb 2008 00:00:00 +0200"), 1203638400 - 7200);
  EXPECT_EQ(rfc5322_date_time("22 Feb 2008 00:00 GMT"), 1203638400);
  EXPECT_EQ(rfc5322_date_time("Fri, 22 Feb 08 00:00:00 -0100 (XYZ)"), 1203638400 + 3600);
  EXPECT_FALSE(rfc5322_date_time("yesterday"));
  EXPECT_FALSE(rfc5322_date_time("Fri, 22 Foo 2008 00:00:00 +0000"));
  EXPECT_FALSE(rfc5322_date_time("Fri, 22 Feb 2008 25:00:00 +0000"));
}

TEST(MessageIds, List) {
  EXPECT_EQ(message_ids("<a@b> <c@d>\r\n <e@f>"), (std::vector<std::string>{"a@b", "c@d", "e@f"}));
  EXPECT_EQ(message_ids("<a@b> (comment) <junk> <c@d", 10), (std::vector<std::string>{"a@b"}));
  EXPECT_EQ(message_ids("<a@b><c@d>", 1).size(), 1u);
}

TEST(Sort, KeysReverseAndTies) {
  std::vector<SortFacts> m(4);
  for (uint32_t i = 0; i < 4; ++i) {
    m[i].id = m[i].seq = i + 1;
    m[i].size = 10 * (i % 2);
    m[i].arrival = 100 - i;
  }
  EXPECT_EQ(sort_messages(m, {{SortKey::Size, false}}), (std::vector<uint32_t>{1, 3, 2, 4}));
  EXPECT_EQ(sort_messages(m, {{SortKey::Size, true}}), (std::vector<uint32_t>{2, 4, 1, 3}));
  EXPECT_EQ(sort_messages(m, {{SortKey::Size, false}, {SortKey::Arrival, false}}),
            (std::vector<uint32_t>{3, 1, 4, 2}));
}

ThreadFacts msg(uint32_t n, std::string id, std::vector<std::string> refs, int64_t sent = 0,
                std::string subject = "", bool reply = false) {
  ThreadFacts f;
  f.id = f.seq = n;
  f.message_id = std::move(id);
  f.references = std::move(refs);
  f.sent = sent;
  f.subject = std::move(subject);
  f.reply = reply;
  return f;
}

TEST(Thread, References) {
  // imaptest "thread": a loop through References is broken.
  EXPECT_EQ(
      thread_references({msg(1, "a@b", {}, 3), msg(2, "b@b", {"a@b", "c@b"}, 1), msg(3, "c@b", {"b@b"}, 2)}),
      "(3 2)(1)");
  // A duplicate Message-ID counts as none.
  EXPECT_EQ(thread_references({msg(1, "a@b", {}), msg(2, "a@b", {})}), "(1)(2)");
  // A dummy parent of one root child is promoted; subjects merge replies.
  EXPECT_EQ(thread_references({msg(1, "a@b", {}, 1, "FOO"), msg(2, "b@b", {"c@b"}, 2, "FOO", true)}),
            "(1 2)");
  // A dummy with two children stays at the root.
  EXPECT_EQ(thread_references({msg(1, "", {"a@b"}), msg(2, "", {"a@b"})}), "((1)(2))");
  EXPECT_EQ(thread_references({msg(1, "1@b", {}, 5), msg(2, "2@b", {"1@b"}), msg(3, "3@b", {"1@b"}),
                               msg(4, "4@b", {"2@b"})}),
            "(1 (2 4)(3))");
  EXPECT_EQ(thread_references({msg(1, "3@b", {"1@b"}), msg(2, "4@b", {"2@b"}), msg(3, "5@b", {"2@b"})}),
            "(1)((2)(3))");
  EXPECT_EQ(thread_references(
                {msg(1, "a@b", {}), msg(2, "b@b", {"a@b"}), msg(3, "c@b", {"b@b"}), msg(4, "b@b", {"a@b"})}),
            "(1 (2 3)(4))");
  // Two roots with the same subject, neither a reply: a dummy holds both.
  EXPECT_EQ(thread_references({msg(1, "", {}, 1, "X"), msg(2, "", {}, 2, "X")}), "((1)(2))");
}

TEST(Thread, DeepChainNeedsNoStack) {
  std::vector<ThreadFacts> m;
  for (uint32_t i = 1; i <= 20000; ++i)
    m.push_back(
        msg(i, std::to_string(i) + "@x",
            i > 1 ? std::vector<std::string>{std::to_string(i - 1) + "@x"} : std::vector<std::string>{}));
  std::string t = thread_references(m);
  EXPECT_EQ(t.substr(0, 6), "(1 2 3");
  EXPECT_EQ(t.back(), ')');
}

TEST(Thread, OrderedSubject) {
  EXPECT_EQ(thread_orderedsubject({msg(1, "", {}, 10, "A"), msg(2, "", {}, 9, "B"), msg(3, "", {}, 8, "A"),
                                   msg(4, "", {}, 7, "B"), msg(5, "", {}, 30, "A"), msg(6, "", {}, 29, "B"),
                                   msg(7, "", {}, 28, "A"), msg(8, "", {}, 27, "B")}),
            "(4 (2)(8)(6))(3 (1)(7)(5))");
  EXPECT_EQ(thread_orderedsubject({msg(1, "", {}, 1, ""), msg(2, "", {}, 1, "")}), "(1 2)");
  EXPECT_EQ(thread_orderedsubject({}), "");
}

}  // namespace
}  // namespace mailfort::proto::imap
