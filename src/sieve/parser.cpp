// PLACEHOLDER: replaced by the parser helper.
#include "sieve/parser.h"

namespace mailfort::sieve {

ParseResult parse(std::string_view text, std::size_t max_nesting) {
  return {};
}

}  // namespace mailfort::sieve
