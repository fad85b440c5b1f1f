// The IMAP commands, in one table: the only place a command name is
// spelled. The parser finds a command by name in it and parses the
// arguments with the entry's grammar; the command assembler
// (literal_assembler.h) asks it whether a command's literal may be a
// message (APPEND); the session dispatches on the entry's kind after
// checking the entry's verdict for its state. Pure data, no I/O.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailfort::proto::imap {

struct Command;
class ArgReader;  // the argument reader of command.cpp

enum class CommandKind : uint8_t {
  // any state
  Capability,
  Noop,
  Logout,
  Id,
  // not authenticated
  Starttls,
  Login,
  Authenticate,
  // authenticated or selected
  Enable,
  Select,
  Examine,
  Create,
  Delete,
  Rename,
  Subscribe,
  Unsubscribe,
  List,
  Lsub,
  Status,
  Append,
  Namespace,
  GetQuota,
  GetQuotaRoot,
  Idle,
  Notify,
  Compress,        // RFC 4978
  Unauthenticate,  // RFC 8437
  // selected
  Check,
  Fetch,
  Store,
  Copy,
  Move,
  Expunge,
  Search,
  Sort,          // RFC 5256
  Thread,        // RFC 5256
  CancelUpdate,  // RFC 5267
  Close,
  Unselect,
  // URLAUTH (RFC 4467), authenticated or selected
  GenUrlAuth,
  ResetKey,
  UrlFetch,
};
inline constexpr std::size_t kCommandKinds = static_cast<std::size_t>(CommandKind::UrlFetch) + 1;

// The session states of RFC 9051 3 that decide whether a command runs
// (Logout is the end of the session, not a state commands are read in).
enum class SessionState : uint8_t { NotAuthenticated, Authenticated, Selected };

// What a command gets in a state: it runs, or a tagged BAD with the text
// of verdict_text().
enum class StateVerdict : uint8_t { Run, LogInFirst, AlreadyAuthenticated, NoMailboxSelected };
std::string_view verdict_text(StateVerdict v);

// Which limit a command's literals count against (see literal_assembler.h):
// every literal is command text (max_command_size), except that APPEND's
// message literal may be larger, up to max_literal_size, after login.
enum class LiteralLimit : uint8_t { CommandText, Message };

// Parses the arguments after the command name (the reader stands just past
// it); false on a syntax error, with `why` set when there is a better
// reason than "syntax error in NAME arguments".
using ArgParser = bool (*)(ArgReader& r, Command& c, std::string& why);

struct CommandSpec {
  CommandKind kind;
  std::string_view name;               // upper case, as on the wire
  std::array<StateVerdict, 3> states;  // indexed by SessionState
  bool uid;                            // may follow "UID" (UID FETCH, ...)
  LiteralLimit literal;
  ArgParser parse;

  StateVerdict in(SessionState s) const { return states[static_cast<std::size_t>(s)]; }
};

const CommandSpec& command_spec(CommandKind kind);
// The command called `name` (any case); nullptr when there is none.
const CommandSpec* find_command(std::string_view name);

}  // namespace mailfort::proto::imap
