// One server-side SASL exchange (RFC 4422) for PLAIN (RFC 4616) and LOGIN
// (draft-murchison-sasl-login), the same for SMTP AUTH (RFC 4954), POP3
// AUTH (RFC 5034), IMAP AUTHENTICATE (RFC 9051 6.2.2) and ManageSieve
// AUTHENTICATE (RFC 5804). Pure: the session passes the mechanism the
// client named, its initial response if any, then each response line; the
// exchange answers with the next challenge to send, the credentials, or why
// it failed. The session keeps the wire: how a challenge is framed ("334 ",
// "+ "), reading lines and their bounds, its replies, the password check.
// Faces untrusted input.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace mailfort::proto::sasl {

enum class Mechanism { Plain, Login };
const char* mechanism_name(Mechanism m);  // "PLAIN", "LOGIN"

// The mechanisms a session offers, as a bit set.
using Mechanisms = unsigned;
constexpr Mechanisms kPlain = 1u << 0;
constexpr Mechanisms kLogin = 1u << 1;

struct Credentials {
  std::string authcid;   // the login name
  std::string password;  // never empty
  std::string authzid;   // "" or equal to authcid: nobody acts as someone else
};

enum class Failure {
  UnknownMechanism,     // not one the session offers
  Cancelled,            // the client answered a challenge with "*"
  BadBase64,            // a response that is not strict base64
  Malformed,            // PLAIN: not "authzid NUL authcid NUL password" within 1024 bytes;
                        // LOGIN: an empty name or password
  AuthzidNotPermitted,  // PLAIN with an authorization identity other than its login
};

struct Step {
  enum class Kind { Challenge, Done, Failed };
  Kind kind = Kind::Failed;
  std::string challenge;                 // Challenge: base64 text to send ("" for PLAIN's empty challenge)
  Credentials credentials;               // Done
  Failure failure = Failure::Malformed;  // Failed
};

class Exchange {
 public:
  // The AUTH/AUTHENTICATE command: `mechanism` as the client wrote it (any
  // case), `initial_response` as sent ("=" is an empty one, RFC 4954 4).
  // PLAIN's initial response is its one response, so "*" cancels there too;
  // LOGIN's is the user name, where "*" is only bad base64.
  Step start(std::string_view mechanism, std::optional<std::string_view> initial_response,
             Mechanisms offered);
  // The client's line answering the last challenge (without CRLF). "*"
  // cancels; "=" is an empty response, as in the initial one.
  Step respond(std::string_view line);
  Mechanism mechanism() const { return mechanism_; }

 private:
  enum class State { Idle, PlainResponse, LoginName, LoginPassword, Over };
  Step challenge(std::string text, State next);
  Step fail(Failure f);
  Step plain_response(std::string_view line);
  Step login_name(std::string_view line);

  State state_ = State::Idle;
  Mechanism mechanism_ = Mechanism::Plain;
  std::string name_;  // LOGIN: the name, while the password is asked for
};

}  // namespace mailfort::proto::sasl
