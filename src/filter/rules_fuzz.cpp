// libFuzzer target: the rule file parser on arbitrary bytes (administrator
// input, but a typo must never crash the server), then the rules that
// loaded are matched against a small fixed message: RE2 takes whatever
// patterns survive the parser.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "filter/message_view.h"
#include "filter/rules.h"
#include "filter/url_extract.h"

namespace {
const char kMessage[] =
    "From: a@example.com\r\nSubject: hello =?UTF-8?Q?w=C3=B6rld?=\r\n"
    "Content-Type: text/html\r\n\r\n<p>Visit <a href=\"http://x.example/\">us</a> www.example.org</p>\r\n";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<mailfort::filter::RuleProblem> problems;
  auto rules = mailfort::filter::parse_rules(in, "fuzz.rules", problems);
  static const mailfort::filter::MessageView view(kMessage);
  static const auto urls = mailfort::filter::extract_urls(view.all_text());
  (void)rules->match(view, urls);
  return 0;
}
