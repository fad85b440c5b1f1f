// The arguments of APPEND as parse_command() reads them: one or more
// messages (MULTIAPPEND, RFC 3502), each a literal or a CATENATE list of
// TEXT literals and IMAP URLs (RFC 4469). A literal the command assembler
// cut out of the text (too large for command text) is named by its index
// in AssembledCommand::messages; the session moves it in before use.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mailfort::proto::imap {

struct AppendPart {
  bool url = false;  // URL "..." (else TEXT literal)
  std::string data;  // the TEXT bytes, or the URL
  int cut = -1;      // >= 0: the TEXT is AssembledCommand::messages[cut]
};

struct AppendMessage {
  std::vector<std::string> flags;  // as sent
  std::optional<int64_t> date;     // date-time, seconds since epoch (UTC)
  bool catenate = false;
  std::string literal;             // the message (not CATENATE)
  int cut = -1;                    // >= 0: the message is AssembledCommand::messages[cut]
  bool binary = false;             // literal8 "~{n}"
  std::vector<AppendPart> parts;   // CATENATE
};

// URLFETCH's per-URL parameters (URLAUTH=BINARY, RFC 5524): "(url
// BODYPARTSTRUCTURE BINARY BODY)"; none for a bare URL.
struct UrlFetchParams {
  bool extended = false;  // the "(url ...)" form
  bool bodypartstructure = false, binary = false, body = false;
};

struct Command;

// Moves the literals the assembler cut out of a command's text into the
// APPEND parts that name them. False when they do not match one to one
// (a cut-out literal where the grammar has no message: a syntax error).
bool attach_cut_literals(Command& c, std::vector<std::string>& messages);

}  // namespace mailfort::proto::imap
