// The Sieve syntax tree (RFC 5228 section 8). Sieve's grammar is generic:
// every command is an identifier, arguments (tags, numbers, strings,
// string lists), an optional test or test list, and an optional block. The
// parser (parser.h) builds this tree without knowing any command; the
// compiler (compile.h) checks each node against the command's signature
// and the script's `require`s, and stores the command's code so the
// interpreter switches on an enum instead of comparing names.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mailfort::sieve {

struct Position {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in bytes
};

struct Argument {
  enum class Kind { Tag, Number, String, StringList };
  Kind kind = Kind::String;
  Position pos;
  std::string tag;                   // Tag: lower-cased, without ':' ("comparator")
  uint64_t number = 0;               // Number: K/M/G applied
  std::vector<std::string> strings;  // String: one element; StringList: all (encoded-character decoded)
  // A string that may contain "${...}" (variables extension): the
  // interpreter expands only these.
  bool may_expand = false;
  bool is_string() const { return kind == Kind::String; }
  bool is_list() const { return kind == Kind::StringList || kind == Kind::String; }
};

// Filled in by the compiler; Unknown only in an uncompiled tree.
enum class TestCode : uint8_t {
  Unknown,
  AllOf, AnyOf, Not, True, False,
  Address, Envelope, Header, Exists, Size,
  Body, Date, CurrentDate, String, HasFlag, MailboxExists, Duplicate,
  SpamTest, VirusTest, Environment, Ihave,
};

enum class CommandCode : uint8_t {
  Unknown,
  Require, If, ElsIf, Else, Stop,
  Keep, Discard, Redirect, FileInto, Reject, EReject,
  SetFlag, AddFlag, RemoveFlag,
  Set, Vacation, AddHeader, DeleteHeader, Include, Return, Global,
  Error,  // ihave's `error` command (RFC 5463)
};

struct Test {
  std::string name;  // lower-cased identifier
  TestCode code = TestCode::Unknown;
  Position pos;
  std::vector<Argument> args;
  std::vector<Test> tests;  // allof/anyof: the list; not: one
};

struct Command {
  std::string name;  // lower-cased identifier
  CommandCode code = CommandCode::Unknown;
  Position pos;
  std::vector<Argument> args;
  std::vector<Test> tests;  // if/elsif: exactly one
  bool has_block = false;
  std::vector<Command> block;
};

struct Script {
  std::vector<Command> commands;
  // Extensions named by `require` anywhere in the script (lower-cased).
  std::vector<std::string> requires_;
};

}  // namespace mailfort::sieve
