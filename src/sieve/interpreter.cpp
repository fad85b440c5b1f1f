// PLACEHOLDER: replaced by the interpreter helper.
#include "sieve/interpreter.h"

namespace mailfort::sieve {

Outcome run(const std::vector<ScriptRef>& chain, const MessageInput& input, Host& host, const Limits& limits) {
  return {};
}

}  // namespace mailfort::sieve
