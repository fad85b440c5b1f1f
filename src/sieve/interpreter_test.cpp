#include "sieve/interpreter.h"

#include <gtest/gtest.h>

#include <map>

#include <functional>
#include "sieve/match.h"
#include "sieve/message_access.h"
#include "sieve/parser.h"

namespace mailfort::sieve {
namespace {

std::shared_ptr<const CompiledScript> Compile(std::string_view text) {
  auto r = compile(text);
  EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : format_error("t", r.errors.front())) << "\n" << text;
  return r.script ? r.script : std::make_shared<CompiledScript>();
}

const char* kMsg =
    "Received: from a by b; Fri, 4 Dec 2026 05:00:00 +0000\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: bob+lists@example.com, carol@example.net\r\n"
    "Cc: dave@example.com\r\n"
    "Subject: Hello there\r\n"
    "Date: Fri, 04 Dec 2026 06:30:00 +0100\r\n"
    "Message-ID: <m1@example.org>\r\n"
    "X-Spam: no\r\n"
    "X-Spam: maybe\r\n"
    "\r\n"
    "Body text with a secret word.\r\n";

struct TestHost : Host {
  std::set<std::string> missing;
  std::set<std::string> seen;
  std::map<std::string, std::string> personal, global;
  std::vector<std::string> checked;
  bool mailbox_exists(const std::string& f) override { return !missing.count(f); }
  bool duplicate_seen(const std::string& id, uint64_t) override {
    checked.push_back(id);
    return seen.count(id) > 0;
  }
  std::variant<std::shared_ptr<const CompiledScript>, std::string> load_include(const std::string& name,
                                                                                bool g) override {
    auto& m = g ? global : personal;
    auto it = m.find(name);
    if (it == m.end()) return std::string("no such script");
    return Compile(it->second);
  }
};

struct Fixture : ::testing::Test {
  MessageInput in;
  TestHost host;
  Limits limits;
  std::string message = kMsg;
  Fixture() {
    in.envelope_from = "alice@example.org";
    in.envelope_to = "bob+lists@example.com";
    in.user = "bob@example.com";
    in.now = 1796367600;  // 2026-12-04 07:00:00 UTC
  }
  Outcome Run(std::string_view script) {
    in.message = message;
    return run({ScriptRef{"personal:main", Compile(script), false}}, in, host, limits);
  }
  Outcome RunChain(const std::vector<std::pair<std::string, std::string>>& scripts) {
    in.message = message;
    std::vector<ScriptRef> chain;
    for (const auto& [name, text] : scripts)
      chain.push_back(ScriptRef{name, Compile(text), name != "personal:main"});
    return run(chain, in, host, limits);
  }
};

std::string Describe(const Outcome& o) {
  std::string r;
  for (const auto& a : o.actions) {
    switch (a.kind) {
      case Action::Kind::Keep:
        r += "keep";
        break;
      case Action::Kind::FileInto:
        r += "fileinto:" + a.folder;
        break;
      case Action::Kind::Redirect:
        r += "redirect:" + a.address;
        break;
      case Action::Kind::Discard:
        r += "discard";
        break;
      case Action::Kind::Reject:
        r += "reject:" + a.reason;
        break;
      case Action::Kind::EReject:
        r += "ereject:" + a.reason;
        break;
      case Action::Kind::Vacation:
        r += "vacation";
        break;
    }
    if (a.copy) r += "(copy)";
    if (a.flags_given) {
      r += "[";
      for (std::size_t i = 0; i < a.flags.size(); ++i) r += (i ? " " : "") + a.flags[i];
      r += "]";
    }
    r += ";";
  }
  if (o.implicit_keep) r += "implicit-keep;";
  if (!o.errors.empty()) r += "error;";
  return r;
}

// --- core -------------------------------------------------------------------

TEST_F(Fixture, EmptyScriptKeepsImplicitly) {
  EXPECT_EQ(Describe(Run("")), "implicit-keep;");
}

TEST_F(Fixture, DiscardCancelsImplicitKeep) {
  EXPECT_EQ(Describe(Run("discard;")), "discard;");
}

TEST_F(Fixture, KeepIsExplicitAndOnce) {
  EXPECT_EQ(Describe(Run("keep; keep;")), "keep;");
}

TEST_F(Fixture, FileIntoSameFolderOnce) {
  EXPECT_EQ(Describe(Run("require \"fileinto\"; fileinto \"A\"; fileinto \"B\"; fileinto \"A\";")),
            "fileinto:A;fileinto:B;");
}

TEST_F(Fixture, FileIntoCopyKeepsImplicitKeep) {
  EXPECT_EQ(Describe(Run("require [\"fileinto\",\"copy\"]; fileinto :copy \"A\";")),
            "fileinto:A(copy);implicit-keep;");
}

TEST_F(Fixture, FileIntoInvalidFolderIsError) {
  EXPECT_EQ(Describe(Run("require \"fileinto\"; fileinto \"bad\xff\";")), "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require [\"fileinto\",\"variables\"]; fileinto \"${nothing}\";")),
            "implicit-keep;error;");
}

TEST_F(Fixture, FileIntoInboxCopyMergesWithImplicitKeep) {
  EXPECT_EQ(Describe(Run("require [\"fileinto\",\"copy\"]; fileinto :copy \"INBOX\";")),
            "fileinto:INBOX(copy);");
  EXPECT_EQ(Describe(Run("require \"fileinto\"; fileinto \"inbox\"; keep;")), "fileinto:inbox;");
}

TEST_F(Fixture, RedirectSameAddressOnceAndCopy) {
  // The local part is compared as written, the domain in any case (as Pigeonhole).
  EXPECT_EQ(
      Describe(Run("redirect \"x@example.net\"; redirect \"x@EXAMPLE.net\"; redirect \"X@example.net\";")),
      "redirect:x@example.net;redirect:X@example.net;");
  EXPECT_EQ(Describe(Run("require \"copy\"; redirect :copy \"x@example.net\";")),
            "redirect:x@example.net(copy);implicit-keep;");
}

TEST_F(Fixture, RedirectInvalidAddressIsRunTimeError) {
  auto o = Run("redirect \"not an address\"; discard;");
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_NE(o.errors[0].find("personal:main:1:"), std::string::npos) << o.errors[0];
}

TEST_F(Fixture, StopEndsScript) {
  EXPECT_EQ(Describe(Run("stop; discard;")), "implicit-keep;");
}

TEST_F(Fixture, IfElsifElse) {
  const char* s =
      "require \"fileinto\";\n"
      "if false { fileinto \"A\"; } elsif true { fileinto \"B\"; } elsif true { fileinto \"C\"; } else { "
      "fileinto \"D\"; }\n"
      "if false { fileinto \"E\"; } else { fileinto \"F\"; }";
  EXPECT_EQ(Describe(Run(s)), "fileinto:B;fileinto:F;");
}

TEST_F(Fixture, NotAllofAnyofShortCircuit) {
  // size :over 0 is true; the anyof stops at the first true test, the allof at the first false one:
  // a duplicate test after them is never asked.
  auto o =
      Run("require \"duplicate\";\n"
          "if anyof (true, duplicate :uniqueid \"a\") { keep; }\n"
          "if allof (false, duplicate :uniqueid \"b\") { discard; }\n"
          "if not false { redirect \"r@example.net\"; }");
  EXPECT_EQ(Describe(o), "keep;redirect:r@example.net;");
  EXPECT_TRUE(host.checked.empty());
}

TEST_F(Fixture, SizeOverUnder) {
  EXPECT_EQ(Describe(Run("if size :over 10 { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("if size :under 10 { discard; }")), "implicit-keep;");
  EXPECT_EQ(Describe(Run("if size :under 1M { discard; }")), "discard;");
}

TEST_F(Fixture, HeaderAddressEnvelopeExists) {
  EXPECT_EQ(Describe(Run("if header :contains \"subject\" \"there\" { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("if header :is [\"x-none\", \"X-Spam\"] \"maybe\" { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("if address :domain :is \"to\" \"example.net\" { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("if address :localpart :is [\"to\",\"cc\"] \"dave\" { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("require \"subaddress\"; if address :detail \"to\" \"lists\" { discard; }")),
            "discard;");
  EXPECT_EQ(Describe(Run("require \"envelope\"; if envelope :domain \"from\" \"example.org\" { discard; }")),
            "discard;");
  EXPECT_EQ(
      Describe(Run("require [\"envelope\",\"subaddress\"]; if envelope :user \"to\" \"bob\" { discard; }")),
      "discard;");
  EXPECT_EQ(Describe(Run("if exists [\"From\",\"X-Spam\"] { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("if exists [\"From\",\"X-Nope\"] { discard; }")), "implicit-keep;");
}

TEST_F(Fixture, EnvelopeAuth) {
  in.envelope_auth = "bob@example.com";
  EXPECT_EQ(Describe(Run("require \"envelope\"; if envelope :is \"auth\" \"bob@example.com\" { discard; }")),
            "discard;");
}

TEST_F(Fixture, RelationalCountsAcrossNames) {
  const char* s =
      "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
      "if header :count \"ge\" :comparator \"i;ascii-numeric\" [\"X-Spam\", \"Subject\"] \"3\" { discard; }";
  EXPECT_EQ(Describe(Run(s)), "discard;");
  const char* a =
      "require [\"relational\", \"comparator-i;ascii-numeric\"];\n"
      "if address :count \"eq\" :comparator \"i;ascii-numeric\" [\"to\", \"cc\"] \"3\" { discard; }";
  EXPECT_EQ(Describe(Run(a)), "discard;");
}

TEST_F(Fixture, IndexPicksOccurrence) {
  EXPECT_EQ(Describe(Run("require \"index\"; if header :index 2 :is \"X-Spam\" \"maybe\" { discard; }")),
            "discard;");
  EXPECT_EQ(
      Describe(Run("require \"index\"; if header :index 1 :last :is \"X-Spam\" \"maybe\" { discard; }")),
      "discard;");
  EXPECT_EQ(Describe(Run("require \"index\"; if header :index 1 :is \"X-Spam\" \"maybe\" { discard; }")),
            "implicit-keep;");
}

TEST_F(Fixture, BodyTest) {
  EXPECT_EQ(Describe(Run("require \"body\"; if body :contains \"secret\" { discard; }")), "discard;");
  EXPECT_EQ(Describe(Run("require \"body\"; if body :raw :contains \"public\" { discard; }")),
            "implicit-keep;");
}

// --- reject -----------------------------------------------------------------

TEST_F(Fixture, RejectAlone) {
  EXPECT_EQ(Describe(Run("require \"reject\"; reject \"go away\";")), "reject:go away;");
  EXPECT_EQ(Describe(Run("require \"ereject\"; ereject \"no\";")), "ereject:no;");
}

TEST_F(Fixture, RejectConflictsWithKeepFileintoRedirectVacation) {
  EXPECT_EQ(Describe(Run("require \"reject\"; keep; reject \"x\";")), "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require [\"reject\",\"fileinto\"]; reject \"x\"; fileinto \"A\";")),
            "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require \"reject\"; redirect \"a@b.c\"; reject \"x\";")), "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require [\"reject\",\"vacation\"]; vacation \"away\"; reject \"x\";")),
            "implicit-keep;error;");
  // :copy deliveries conflict too (as in Pigeonhole), a second reject as well; discard does not
  EXPECT_EQ(Describe(Run("require [\"reject\",\"copy\"]; redirect :copy \"a@b.c\"; reject \"x\";")),
            "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require \"reject\"; reject \"x\"; reject \"y\";")), "implicit-keep;error;");
  EXPECT_EQ(Describe(Run("require \"reject\"; discard; reject \"x\";")), "discard;reject:x;");
}

// --- imap4flags -------------------------------------------------------------

TEST_F(Fixture, FlagsNormalisedAndGivenToImplicitKeep) {
  auto o =
      Run("require \"imap4flags\";\n"
          "setflag \"\\\\seen  $Label1\";\n"
          "addflag [\"\\\\SEEN\", \"\\\\Flagged\", \"$Label1\", \"work\"];\n"
          "removeflag \"WORK\";");
  EXPECT_EQ(Describe(o), "implicit-keep;");
  EXPECT_TRUE(o.implicit_keep_flags_given);
  EXPECT_EQ(o.implicit_keep_flags, (std::vector<std::string>{"\\Seen", "$Label1", "\\Flagged"}));
}

TEST_F(Fixture, FileintoFlagsArgumentAndInternalVariable) {
  auto o =
      Run("require [\"imap4flags\",\"fileinto\"];\n"
          "fileinto :flags \"\\\\Answered\" \"A\";\n"
          "addflag \"\\\\Flagged\";\n"
          "fileinto \"B\";\n"
          "keep;");
  EXPECT_EQ(Describe(o), "fileinto:A[\\Answered];fileinto:B[\\Flagged];keep[\\Flagged];");
}

TEST_F(Fixture, FlagsInAVariable) {
  auto o =
      Run("require [\"imap4flags\",\"variables\",\"fileinto\"];\n"
          "setflag \"myflags\" \"a b\"; addflag \"myflags\" \"c a\";\n"
          "if string :is \"${myflags}\" \"a b c\" { discard; }\n"
          "if hasflag :is \"myflags\" \"c\" { redirect \"x@y.z\"; }\n"
          "if hasflag \"c\" { keep; }\n"
          "if hasflag :is \"myflags\" \"x c\" { fileinto \"split\"; }");
  EXPECT_EQ(Describe(o), "discard;redirect:x@y.z;fileinto:split;");
  EXPECT_FALSE(o.implicit_keep_flags_given);
}

// --- variables --------------------------------------------------------------

TEST_F(Fixture, SetAndExpand) {
  auto o =
      Run("require [\"variables\",\"fileinto\"];\n"
          "set \"Folder\" \"Lists\"; set \"sub\" \"x\";\n"
          "fileinto \"${folder}/${SUB}${unknown}/${ not a var}/$\\{sub}\";");
  EXPECT_EQ(Describe(o), "fileinto:Lists/x/${ not a var}/x;");
}

TEST_F(Fixture, NoExpansionWithoutVariablesRequire) {
  EXPECT_EQ(Describe(Run("require \"fileinto\"; fileinto \"${x}\";")), "fileinto:${x};");
}

TEST_F(Fixture, SetModifiersInPrecedenceOrder) {
  auto o =
      Run("require [\"variables\",\"fileinto\",\"regex\"];\n"
          "set :upperfirst :lower \"a\" \"hELLO\";\n"    // lower (40) then upperfirst (30): Hello
          "set :length :quotewildcard \"b\" \"a*b\";\n"  // quotewildcard (20) then length (10): 4
          "set :quoteregex \"c\" \"a.b\";\n"
          "set :length \"d\" \"\xc3\xa9t\xc3\xa9\";\n"  // 3 characters
          "fileinto \"${a}-${b}-${c}-${d}\";");
  EXPECT_EQ(Describe(o), "fileinto:Hello-4-a\\.b-3;");
}

TEST_F(Fixture, VariableTruncatedAtUtf8Boundary) {
  limits.max_variable_size = 4;
  auto o = Run("require [\"variables\",\"fileinto\"]; set \"a\" \"ab\xc3\xa9\xc3\xa9\"; fileinto \"${a}\";");
  EXPECT_EQ(Describe(o), "fileinto:ab\xc3\xa9;");
}

TEST_F(Fixture, MatchVariables) {
  auto o =
      Run("require [\"variables\",\"fileinto\"];\n"
          "if header :matches \"Subject\" \"* *\" { fileinto \"${1}-${2}-${0}\"; }\n"
          "if header :matches \"Subject\" \"zzz*\" { discard; }\n"  // fails: keeps the earlier values
          "fileinto \"again-${1}\";");
  EXPECT_EQ(Describe(o), "fileinto:Hello-there-Hello there;fileinto:again-Hello;");
}

TEST_F(Fixture, StringTestCountsNonEmpty) {
  auto o = Run(
      "require [\"variables\",\"relational\",\"comparator-i;ascii-numeric\"];\n"
      "set \"e\" \"\";\n"
      "if string :count \"eq\" :comparator \"i;ascii-numeric\" [\"a\", \"${e}\", \"b\"] \"2\" { discard; }");
  EXPECT_EQ(Describe(o), "discard;");
}

TEST_F(Fixture, TooManyVariablesIsError) {
  limits.max_variables = 2;
  EXPECT_EQ(
      Describe(Run("require \"variables\"; set \"a\" \"1\"; set \"b\" \"2\"; set \"c\" \"3\"; discard;")),
      "implicit-keep;error;");
}

// --- vacation ---------------------------------------------------------------

TEST_F(Fixture, VacationDefaults) {
  auto o = Run("require \"vacation\"; vacation \"I am away\";");
  ASSERT_EQ(Describe(o), "vacation;implicit-keep;");
  const auto& v = o.actions[0].vacation;
  EXPECT_EQ(v.reason, "I am away");
  EXPECT_EQ(v.subject, "Auto: Hello there");
  EXPECT_EQ(v.period_seconds, limits.vacation_default_seconds);
  EXPECT_FALSE(v.handle.empty());
  // the same arguments give the same handle, other arguments another one
  auto o2 = Run("require \"vacation\"; vacation \"I am away\";");
  auto o3 = Run("require \"vacation\"; vacation \"I am out\";");
  EXPECT_EQ(o2.actions[0].vacation.handle, v.handle);
  EXPECT_NE(o3.actions[0].vacation.handle, v.handle);
}

TEST_F(Fixture, VacationArgumentsAndBounds) {
  auto o =
      Run("require [\"vacation\",\"vacation-seconds\"];\n"
          "vacation :seconds 5 :subject \"Away\" :from \"me@example.com\" :addresses [\"b@x.y\"] :mime "
          ":handle \"h1\" "
          "\"Content-Type: text/plain\r\n\r\nbody\";");
  ASSERT_EQ(o.actions.size(), 1u);
  const auto& v = o.actions[0].vacation;
  EXPECT_EQ(v.period_seconds, limits.vacation_min_seconds);
  EXPECT_EQ(v.subject, "Away");
  EXPECT_EQ(v.from, "me@example.com");
  EXPECT_EQ(v.addresses, std::vector<std::string>{"b@x.y"});
  EXPECT_TRUE(v.mime);
  EXPECT_EQ(v.handle, "h1");
  auto o2 = Run("require \"vacation\"; vacation :days 1000 \"x\";");
  EXPECT_EQ(o2.actions[0].vacation.period_seconds, limits.vacation_max_seconds);
}

TEST_F(Fixture, SecondVacationIsError) {
  EXPECT_EQ(Describe(Run("require \"vacation\"; vacation \"a\"; vacation \"b\";")), "implicit-keep;error;");
}

// --- editheader -------------------------------------------------------------

TEST_F(Fixture, AddHeaderFirstAndLastAndSnapshots) {
  auto o =
      Run("require [\"editheader\",\"fileinto\"];\n"
          "fileinto \"Before\";\n"
          "addheader \"X-First\" \"1\";\n"
          "addheader :last \"X-Last\" \"2\";\n"
          "fileinto \"After\";");
  ASSERT_EQ(o.actions.size(), 2u);
  EXPECT_EQ(o.actions[0].message, nullptr);
  ASSERT_NE(o.actions[1].message, nullptr);
  const std::string& m = *o.actions[1].message;
  EXPECT_TRUE(m.starts_with("X-First: 1\r\nReceived:")) << m;
  EXPECT_NE(m.find("X-Spam: maybe\r\nX-Last: 2\r\n\r\nBody"), std::string::npos) << m;
}

TEST_F(Fixture, EditsVisibleToLaterTestsAndFinalMessage) {
  auto o =
      Run("require \"editheader\";\n"
          "deleteheader \"X-Spam\";\n"
          "addheader \"X-New\" \"yes\";\n"
          "if exists \"X-Spam\" { discard; }\n"
          "if header :is \"X-New\" \"yes\" { keep; }");
  EXPECT_EQ(Describe(o), "keep;");
  ASSERT_NE(o.actions[0].message, nullptr);
  EXPECT_EQ(o.actions[0].message->find("X-Spam"), std::string::npos);
  auto o2 = Run("require \"editheader\"; addheader \"X-New\" \"v\";");
  ASSERT_NE(o2.final_message, nullptr);
  EXPECT_TRUE(o2.final_message->starts_with("X-New: v\r\n"));
}

TEST_F(Fixture, DeleteHeaderIndexAndValue) {
  auto o = Run("require [\"editheader\",\"index\"]; deleteheader :index 1 :last \"X-Spam\";");
  ASSERT_NE(o.final_message, nullptr);
  EXPECT_NE(o.final_message->find("X-Spam: no\r\n"), std::string::npos);
  EXPECT_EQ(o.final_message->find("X-Spam: maybe"), std::string::npos);
  auto o2 = Run("require \"editheader\"; deleteheader :is \"X-Spam\" \"no\";");
  ASSERT_NE(o2.final_message, nullptr);
  EXPECT_EQ(o2.final_message->find("X-Spam: no"), std::string::npos);
  EXPECT_NE(o2.final_message->find("X-Spam: maybe"), std::string::npos);
}

TEST_F(Fixture, ProtectedFieldsUntouched) {
  auto o = Run("require \"editheader\"; deleteheader \"Received\"; addheader \"Auto-Submitted\" \"no\";");
  EXPECT_EQ(Describe(o), "implicit-keep;");
  EXPECT_EQ(o.final_message, nullptr);
}

TEST_F(Fixture, InvalidFieldNameAndEditLimit) {
  // A literal bad name is a compile error; one from a variable fails at run time.
  EXPECT_EQ(Describe(Run("require [\"editheader\", \"variables\"]; set \"n\" \"Bad Name\"; "
                         "addheader \"${n}\" \"v\"; discard;")),
            "implicit-keep;error;");
  limits.max_header_edits = 2;
  EXPECT_EQ(
      Describe(Run(
          "require \"editheader\"; addheader \"A\" \"1\"; addheader \"B\" \"2\"; addheader \"C\" \"3\";")),
      "implicit-keep;error;");
}

TEST_F(Fixture, AddHeaderEncodesNonAscii) {
  auto o = Run("require \"editheader\"; addheader \"X-U\" \"caf\xc3\xa9\";");
  ASSERT_NE(o.final_message, nullptr);
  EXPECT_TRUE(o.final_message->starts_with("X-U: =?UTF-8?B?Y2Fmw6k=?=\r\n")) << *o.final_message;
}

// --- mailbox, include -------------------------------------------------------

TEST_F(Fixture, FileintoCreateAndMailboxExists) {
  host.missing = {"Nope"};
  auto o =
      Run("require [\"mailbox\",\"fileinto\"];\n"
          "if mailboxexists \"Nope\" { discard; }\n"
          "if mailboxexists [\"INBOX\", \"A\"] { fileinto :create \"New\"; }");
  EXPECT_EQ(Describe(o), "fileinto:New;");
  EXPECT_TRUE(o.actions[0].create);
}

TEST_F(Fixture, IncludeSharesGlobalsAndReturn) {
  host.personal["sub"] =
      "require [\"include\",\"variables\",\"fileinto\"]; global \"target\";\n"
      "fileinto \"${target}\"; return; discard;";
  auto o =
      Run("require [\"include\",\"variables\",\"fileinto\"]; global \"target\";\n"
          "set \"target\" \"Shared\"; set \"local\" \"L\";\n"
          "include \"sub\";\n"
          "include :once \"sub\"; include :once \"sub\";\n"
          "fileinto \"after-${local}\";");
  EXPECT_EQ(Describe(o), "fileinto:Shared;fileinto:after-L;");
}

TEST_F(Fixture, IncludeMissingOptionalCycleAndDepth) {
  EXPECT_EQ(Describe(Run("require \"include\"; include :optional \"nope\"; discard;")), "discard;");
  EXPECT_EQ(Describe(Run("require \"include\"; include \"nope\"; discard;")), "implicit-keep;error;");
  host.personal["a"] = "require \"include\"; include \"b\";";
  host.personal["b"] = "require \"include\"; include \"a\";";
  auto o = Run("require \"include\"; include \"a\"; discard;");
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
  host.global["g"] = "discard;";
  EXPECT_EQ(Describe(Run("require \"include\"; include :global \"g\";")), "discard;");
}

TEST_F(Fixture, StopInIncludedScriptStopsAll) {
  host.personal["s"] = "stop;";
  EXPECT_EQ(Describe(Run("require \"include\"; include \"s\"; discard;")), "implicit-keep;");
}

TEST_F(Fixture, GlobalScriptCannotIncludePersonal) {
  host.personal["p"] = "discard;";
  auto o = RunChain({{"before:g", "require \"include\"; include \"p\";"}});
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
}

// --- duplicate --------------------------------------------------------------

TEST_F(Fixture, DuplicateUsesMessageIdAndMarks) {
  auto o = Run("require \"duplicate\"; if duplicate { discard; }");
  EXPECT_EQ(Describe(o), "implicit-keep;");
  ASSERT_EQ(o.duplicate_marks.size(), 1u);
  EXPECT_NE(o.duplicate_marks[0].id.find("<m1@example.org>"), std::string::npos);
  host.seen.insert(o.duplicate_marks[0].id);
  auto o2 = Run("require \"duplicate\"; if duplicate { discard; }");
  EXPECT_EQ(Describe(o2), "discard;");
  EXPECT_TRUE(o2.duplicate_marks.empty());  // first-seen period is not extended without :last
  auto o3 = Run("require \"duplicate\"; if duplicate :last { discard; }");
  EXPECT_EQ(o3.duplicate_marks.size(), 1u);
}

TEST_F(Fixture, DuplicateHandleUniqueidSeconds) {
  limits.duplicate_max_seconds = 100;
  auto o =
      Run("require \"duplicate\"; if duplicate :handle \"h\" :uniqueid \"u\" :seconds 5000 { discard; }");
  ASSERT_EQ(o.duplicate_marks.size(), 1u);
  EXPECT_EQ(o.duplicate_marks[0].seconds, 100u);
  auto o2 = Run("require \"duplicate\"; if duplicate :handle \"other\" :uniqueid \"u\" { discard; }");
  ASSERT_EQ(o2.duplicate_marks.size(), 1u);
  EXPECT_NE(o.duplicate_marks[0].id, o2.duplicate_marks[0].id);
}

TEST_F(Fixture, DuplicateSameIdTwiceInOneRunAsksOnce) {
  host.seen.insert("0::u");
  auto o =
      Run("require [\"duplicate\",\"fileinto\"];\n"
          "if duplicate :uniqueid \"u\" { fileinto \"A\"; }\n"
          "if duplicate :uniqueid \"u\" { fileinto \"B\"; }");
  EXPECT_EQ(Describe(o), "fileinto:A;fileinto:B;");
  EXPECT_EQ(host.checked.size(), 1u);
  EXPECT_TRUE(o.duplicate_marks.empty());
}

TEST_F(Fixture, DuplicateWithoutTrackedValueIsFalse) {
  auto o = Run("require \"duplicate\"; if duplicate :header \"X-None\" { discard; }");
  EXPECT_EQ(Describe(o), "implicit-keep;");
  EXPECT_TRUE(o.duplicate_marks.empty());
}

// --- spamtest, virustest, environment, ihave, error --------------------------

TEST_F(Fixture, SpamtestValues) {
  const char* s =
      "require [\"spamtest\",\"relational\",\"comparator-i;ascii-numeric\"];\n"
      "if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"0\" { fileinto \"untested\"; }\n"
      "if spamtest :value \"ge\" :comparator \"i;ascii-numeric\" \"10\" { discard; }";
  EXPECT_EQ(Describe(Run(std::string("require \"fileinto\";") + s)), "fileinto:untested;");
  in.spam_score = 20;
  EXPECT_EQ(Describe(Run(std::string("require \"fileinto\";") + s)), "discard;");
  in.spam_score = -3;
  EXPECT_EQ(Describe(Run("require [\"spamtest\",\"relational\",\"comparator-i;ascii-numeric\"];"
                         "if spamtest :value \"eq\" :comparator \"i;ascii-numeric\" \"1\" { discard; }")),
            "discard;");
  in.spam_score = 7.5;  // half of spam_max 15
  EXPECT_EQ(
      Describe(Run("require [\"spamtestplus\",\"relational\",\"comparator-i;ascii-numeric\"];"
                   "if spamtest :percent :value \"eq\" :comparator \"i;ascii-numeric\" \"50\" { discard; }")),
      "discard;");
}

TEST_F(Fixture, VirustestEnvironmentIhave) {
  in.virus = 1;
  EXPECT_EQ(Describe(Run("require \"virustest\"; if virustest :is \"1\" { discard; }")), "discard;");
  in.environment["name"] = "Mailfort";
  EXPECT_EQ(Describe(Run("require \"environment\"; if environment :is \"name\" \"Mailfort\" { discard; }")),
            "discard;");
  EXPECT_EQ(Describe(Run("require \"environment\"; if environment :contains \"nothere\" \"\" { discard; }")),
            "implicit-keep;");
}

TEST_F(Fixture, IhaveAndError) {
  EXPECT_EQ(Describe(Run("require \"ihave\"; if ihave [\"fileinto\",\"variables\"] { discard; }")),
            "discard;");
  EXPECT_EQ(Describe(Run("require \"ihave\"; if ihave \"x-unknown\" { discard; }")), "implicit-keep;");
  auto o = Run("require \"ihave\"; discard;\nerror \"custom failure\";");
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_NE(o.errors[0].find("personal:main:2:"), std::string::npos) << o.errors[0];
  EXPECT_NE(o.errors[0].find("custom failure"), std::string::npos);
}

// --- dates ------------------------------------------------------------------

TEST_F(Fixture, DateAndCurrentDate) {
  EXPECT_EQ(Describe(Run("require \"date\"; if date :originalzone \"date\" \"hour\" \"06\" { discard; }")),
            "discard;");
  EXPECT_EQ(Describe(Run("require \"date\"; if date :zone \"+0000\" \"date\" \"hour\" \"05\" { discard; }")),
            "discard;");
  EXPECT_EQ(
      Describe(Run("require \"date\"; if currentdate :zone \"+0000\" \"date\" \"2026-12-04\" { discard; }")),
      "discard;");
  in.local_zone_minutes = 120;
  EXPECT_EQ(Describe(Run("require \"date\"; if currentdate \"hour\" \"09\" { discard; }")), "discard;");
}

// --- limits and chain ---------------------------------------------------------

TEST_F(Fixture, ActionAndRedirectLimits) {
  limits.max_redirects = 2;
  EXPECT_EQ(Describe(Run("redirect \"a@x.y\"; redirect \"b@x.y\"; redirect \"c@x.y\";")),
            "implicit-keep;error;");
  limits.max_actions = 2;
  EXPECT_EQ(Describe(Run("require \"fileinto\"; fileinto \"a\"; fileinto \"b\"; fileinto \"c\";")),
            "implicit-keep;error;");
}

TEST_F(Fixture, StepLimitStopsLongScripts) {
  limits.max_steps = 20;
  std::string s;
  for (int i = 0; i < 30; ++i) s += "if false { discard; }\n";
  auto o = Run(s);
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
  EXPECT_LE(o.steps, 21u);
}

TEST_F(Fixture, ChainRunsWhileKept) {
  auto o = RunChain({{"before:a", "require [\"fileinto\",\"copy\"]; fileinto :copy \"Archive\";"},
                     {"personal:main", "require \"fileinto\"; fileinto \"Mine\";"},
                     {"after:z", "discard;"}});
  EXPECT_EQ(Describe(o), "fileinto:Archive(copy);fileinto:Mine;");
  EXPECT_EQ(o.actions[1].script, "personal:main");
}

TEST_F(Fixture, ChainExplicitKeepPassesOn) {
  auto o = RunChain({{"before:a", "keep;"}, {"personal:main", "require \"fileinto\"; fileinto \"Mine\";"}});
  EXPECT_EQ(Describe(o), "fileinto:Mine;");
  auto o2 = RunChain({{"before:a", "keep;"}, {"personal:main", ""}});
  EXPECT_EQ(Describe(o2), "implicit-keep;");
}

TEST_F(Fixture, ChainStopsAfterDiscardAndErrorDropsEverything) {
  auto o = RunChain({{"before:a", "discard;"}, {"personal:main", "redirect \"x@y.z\";"}});
  EXPECT_EQ(Describe(o), "discard;");
  auto o2 = RunChain({{"before:a", "require [\"fileinto\",\"copy\"]; fileinto :copy \"A\";"},
                      {"personal:main", "redirect \"bad\";"}});
  EXPECT_EQ(Describe(o2), "implicit-keep;error;");
  ASSERT_EQ(o2.errors.size(), 1u);
  EXPECT_TRUE(o2.errors[0].starts_with("personal:main:1:")) << o2.errors[0];
}

TEST_F(Fixture, EditsCarryAcrossChain) {
  auto o = RunChain({{"before:a", "require \"editheader\"; addheader \"X-Before\" \"1\";"},
                     {"personal:main", "require \"fileinto\"; fileinto \"A\";"}});
  ASSERT_EQ(o.actions.size(), 1u);
  ASSERT_NE(o.actions[0].message, nullptr);
  EXPECT_TRUE(o.actions[0].message->starts_with("X-Before: 1\r\n"));
}

}  // namespace
}  // namespace mailfort::sieve

namespace mailfort::sieve {
namespace {

TEST_F(Fixture, IncludeDepthLimit) {
  limits.max_include_depth = 3;
  host.personal["a"] = "require \"include\"; include \"b\";";
  host.personal["b"] = "require \"include\"; include \"c\";";
  host.personal["c"] = "require \"include\"; include \"d\";";
  host.personal["d"] = "discard;";
  EXPECT_EQ(Describe(Run("require \"include\"; include \"a\";")), "implicit-keep;error;");
  limits.max_include_depth = 5;
  EXPECT_EQ(Describe(Run("require \"include\"; include \"a\";")), "discard;");
}

TEST_F(Fixture, ReturnAtTopLevelEndsScript) {
  EXPECT_EQ(Describe(Run("require \"include\"; if true { return; } discard;")), "implicit-keep;");
}

TEST_F(Fixture, GlobalNamespaceAndLocalIsolation) {
  host.personal["sub"] =
      "require [\"include\",\"variables\",\"fileinto\"];\n"
      "set \"global.shared\" \"S\"; set \"mine\" \"M\"; fileinto \"in-${mine}-${priv}\";";
  auto o =
      Run("require [\"include\",\"variables\",\"fileinto\"];\n"
          "set \"priv\" \"P\";\n"
          "include \"sub\";\n"
          "fileinto \"out-${global.shared}-${mine}\";");
  EXPECT_EQ(Describe(o), "fileinto:in-M-;fileinto:out-S-;");
}

TEST_F(Fixture, GlobalScriptMayIncludeGlobal) {
  host.global["g"] = "require \"fileinto\"; fileinto \"G\";";
  auto o =
      RunChain({{"before:x", "require \"include\"; include :global \"g\";"}, {"personal:main", "discard;"}});
  EXPECT_EQ(Describe(o), "fileinto:G;");  // filed: the personal script does not run
}

TEST_F(Fixture, OneVacationPerChain) {
  auto o = RunChain({{"before:x", "require \"vacation\"; vacation \"a\";"},
                     {"personal:main", "require \"vacation\"; vacation \"b\";"}});
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
}

TEST_F(Fixture, ExplicitKeepFlagsAndImplicitKeepWithoutFlags) {
  auto o = Run("require \"imap4flags\"; keep :flags [\"\\\\flagged\", \"x\"];");
  EXPECT_EQ(Describe(o), "keep[\\Flagged x];");
  auto o2 = Run("require \"imap4flags\";");
  EXPECT_FALSE(o2.implicit_keep_flags_given);
  auto o3 = Run("require \"imap4flags\"; setflag \"a\"; removeflag \"a\";");
  EXPECT_TRUE(o3.implicit_keep_flags_given);
  EXPECT_TRUE(o3.implicit_keep_flags.empty());
}

TEST_F(Fixture, ErrorDropsMarksAndEdits) {
  auto o =
      Run("require [\"duplicate\",\"editheader\"];\n"
          "if duplicate :uniqueid \"u\" { stop; }\n"
          "addheader \"X-A\" \"b\";\n"
          "redirect \"nope\";");
  EXPECT_EQ(Describe(o), "implicit-keep;error;");
  EXPECT_TRUE(o.duplicate_marks.empty());
  EXPECT_EQ(o.final_message, nullptr);
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_TRUE(o.errors[0].starts_with("personal:main:4: ")) << o.errors[0];
}

}  // namespace
}  // namespace mailfort::sieve
