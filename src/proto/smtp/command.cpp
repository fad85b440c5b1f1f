#include <arpa/inet.h>

#include <cctype>

#include "base/text.h"
#include "proto/smtp/command.h"

namespace mailfort::proto::smtp {
namespace {

struct VerbName {
  const char* name;
  Verb verb;
};
constexpr VerbName kVerbs[] = {
    {"HELO", Verb::Helo},         {"EHLO", Verb::Ehlo}, {"MAIL", Verb::Mail}, {"RCPT", Verb::Rcpt},
    {"DATA", Verb::Data},         {"BDAT", Verb::Bdat}, {"RSET", Verb::Rset}, {"NOOP", Verb::Noop},
    {"QUIT", Verb::Quit},         {"VRFY", Verb::Vrfy}, {"EXPN", Verb::Expn}, {"HELP", Verb::Help},
    {"STARTTLS", Verb::Starttls}, {"AUTH", Verb::Auth},
};

bool is_ctl(unsigned char c) {
  return (c < 32 && c != '\t') || c == 127;
}

}  // namespace

Command parse_command(std::string_view line) {
  Command cmd;
  for (unsigned char c : line) {
    if (is_ctl(c)) return cmd;  // NUL and friends: straight to the 500 path
  }
  std::size_t i = 0;
  while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
  if (i == 0 || i > 16) return cmd;
  for (std::size_t k = 0; k < i; ++k) cmd.verb_text.push_back(static_cast<char>(std::toupper(line[k])));
  if (i < line.size() && line[i] != ' ') return cmd;  // "MAIL:" or "EHLO1"
  for (const auto& n : kVerbs) {
    if (cmd.verb_text == n.name) cmd.verb = n.verb;
  }
  if (i < line.size()) {
    std::string_view args = line.substr(i + 1);
    while (!args.empty() && (args.back() == ' ' || args.back() == '\t')) args.remove_suffix(1);
    cmd.args = std::string(args);
  }
  return cmd;
}

bool is_valid_helo_domain(std::string_view arg) {
  if (arg.size() >= 2 && arg.front() == '[' && arg.back() == ']') {
    std::string lit(arg.substr(1, arg.size() - 2));
    unsigned char buf[16];
    if (lit.size() > 5 && (lit.compare(0, 5, "IPv6:") == 0 || lit.compare(0, 5, "ipv6:") == 0)) {
      return inet_pton(AF_INET6, lit.c_str() + 5, buf) == 1;
    }
    return inet_pton(AF_INET, lit.c_str(), buf) == 1;
  }
  return mailfort::is_valid_domain(arg);
}

bool is_fqdn(std::string_view domain) {
  return mailfort::is_fqdn(domain);
}

std::optional<AuthArgs> parse_auth_args(std::string_view args) {
  AuthArgs out;
  auto sp = args.find(' ');
  std::string_view mech = args.substr(0, sp);
  if (mech.empty() || mech.size() > 20) return std::nullopt;
  for (unsigned char c : mech) {
    if (!std::isalnum(c) && c != '-' && c != '_') return std::nullopt;
    out.mechanism.push_back(static_cast<char>(std::toupper(c)));
  }
  if (sp != std::string_view::npos) {
    std::string_view ir = args.substr(sp + 1);
    if (ir.empty() || ir.find(' ') != std::string_view::npos) return std::nullopt;
    out.initial_response = std::string(ir);
  }
  return out;
}

}  // namespace mailfort::proto::smtp
