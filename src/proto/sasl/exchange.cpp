#include "proto/sasl/exchange.h"

#include "base/text.h"
#include "base/base64.h"
#include "proto/sasl/sasl.h"

namespace mailfort::proto::sasl {
namespace {

constexpr const char* kUsernamePrompt = "VXNlcm5hbWU6";  // base64 "Username:"
constexpr const char* kPasswordPrompt = "UGFzc3dvcmQ6";  // base64 "Password:"

std::optional<std::string> decode(std::string_view response) {
  if (response == "=") return std::string();
  return base64::decode(response);
}

}  // namespace

const char* mechanism_name(Mechanism m) {
  return m == Mechanism::Login ? "LOGIN" : "PLAIN";
}

Step Exchange::start(std::string_view mechanism, std::optional<std::string_view> initial_response,
                     Mechanisms offered) {
  if (state_ != State::Idle) return fail(Failure::Malformed);
  if (iequals(mechanism, "PLAIN") && (offered & kPlain)) {
    mechanism_ = Mechanism::Plain;
    if (!initial_response) return challenge("", State::PlainResponse);
    return plain_response(*initial_response);
  }
  if (iequals(mechanism, "LOGIN") && (offered & kLogin)) {
    mechanism_ = Mechanism::Login;
    if (!initial_response) return challenge(kUsernamePrompt, State::LoginName);
    return login_name(*initial_response);
  }
  return fail(Failure::UnknownMechanism);
}

Step Exchange::respond(std::string_view line) {
  switch (state_) {
    case State::PlainResponse:
      return plain_response(line);
    case State::LoginName:
      if (line == "*") return fail(Failure::Cancelled);
      return login_name(line);
    case State::LoginPassword: {
      if (line == "*") return fail(Failure::Cancelled);
      auto password = decode(line);
      if (!password) return fail(Failure::BadBase64);
      if (password->empty()) return fail(Failure::Malformed);
      state_ = State::Over;
      Step done{Step::Kind::Done};
      done.credentials = {std::move(name_), std::move(*password), ""};
      return done;
    }
    case State::Idle:
    case State::Over:
      break;
  }
  return fail(Failure::Malformed);  // nothing was asked
}

Step Exchange::challenge(std::string text, State next) {
  state_ = next;
  Step s{Step::Kind::Challenge};
  s.challenge = std::move(text);
  return s;
}

Step Exchange::fail(Failure f) {
  state_ = State::Over;
  Step s{Step::Kind::Failed};
  s.failure = f;
  return s;
}

Step Exchange::plain_response(std::string_view line) {
  if (line == "*") return fail(Failure::Cancelled);
  auto decoded = decode(line);
  if (!decoded) return fail(Failure::BadBase64);
  auto creds = parse_plain(*decoded);
  if (!creds) return fail(Failure::Malformed);
  if (!creds->authzid.empty() && creds->authzid != creds->authcid) return fail(Failure::AuthzidNotPermitted);
  state_ = State::Over;
  Step done{Step::Kind::Done};
  done.credentials = {std::move(creds->authcid), std::move(creds->password), std::move(creds->authzid)};
  return done;
}

Step Exchange::login_name(std::string_view line) {
  auto name = decode(line);
  if (!name) return fail(Failure::BadBase64);
  if (name->empty()) return fail(Failure::Malformed);
  name_ = std::move(*name);
  return challenge(kPasswordPrompt, State::LoginPassword);
}

}  // namespace mailfort::proto::sasl
