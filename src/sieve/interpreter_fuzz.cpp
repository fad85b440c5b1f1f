// Fuzzes compile() + run(): the input is a script, optionally followed by
// "\n#MSG\n" and a message. Every run must end within the Limits, with an
// Outcome whose actions respect them.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sieve/compile.h"
#include "sieve/interpreter.h"

namespace {

using namespace mailfort::sieve;

struct FuzzHost : Host {
  bool duplicate_seen(const std::string& id, uint64_t) override { return id.size() % 2 == 0; }
  bool mailbox_exists(const std::string& f) override { return f.size() % 3 != 0; }
  std::variant<std::shared_ptr<const CompiledScript>, std::string> load_include(const std::string& name,
                                                                                bool global) override {
    if (name == "self" && self) return self;  // include cycles and depth
    if (name == "stop") {
      static auto s = compile("stop;").script;
      if (s) return s;
    }
    return std::string("no such script");
  }
  std::shared_ptr<const CompiledScript> self;
};

const char* kDefaultMessage =
    "From: A <a@example.org>\r\nTo: b+d@example.com, c@example.net\r\nSubject: =?UTF-8?B?w6k=?= hi\r\n"
    "Date: Fri, 04 Dec 2026 06:30:00 +0100\r\nMessage-ID: <x@y>\r\nX-Spam: a\r\nX-Spam: b\r\n\r\nbody\r\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string_view script = in, message = kDefaultMessage;
  if (auto p = in.find("\n#MSG\n"); p != std::string_view::npos) {
    script = in.substr(0, p);
    message = in.substr(p + 6);
  }
  auto compiled = compile(script);
  if (!compiled.ok()) return 0;
  FuzzHost host;
  host.self = compiled.script;
  MessageInput input;
  input.message = message;
  input.envelope_from = "a@example.org";
  input.envelope_to = "b+d@example.com";
  input.spam_score = static_cast<double>(size % 20);
  input.virus = 1;
  input.environment["name"] = "Mailfort";
  input.now = 1796367600;
  Limits limits;
  limits.max_steps = 5000;
  Outcome o = run({ScriptRef{"fuzz", compiled.script, false}}, input, host, limits);
  if (o.steps > limits.max_steps + 1) std::abort();
  if (o.actions.size() > limits.max_actions) std::abort();
  if (!o.errors.empty() && (!o.actions.empty() || !o.implicit_keep)) std::abort();
  for (const auto& a : o.actions)
    if (a.message &&
        a.message->size() >
            message.size() + limits.max_header_edits * (limits.max_variable_size * 4 + script.size() + 2048))
      std::abort();
  return 0;
}
