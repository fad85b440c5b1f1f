// libFuzzer target: the header readers of SORT/THREAD (base subject,
// casemap, first address, RFC 5322 dates, message-id lists) on arbitrary
// bytes, then both threading algorithms over messages built from them.
// Invariants: base_subject() is idempotent on its own output's leaders
// (it never grows the text), and threading names every message once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/sort.h"

using namespace mailfort::proto::imap;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<ThreadFacts> msgs;
  uint32_t n = 0;
  // Lines are messages: "subject|references".
  while (!in.empty() && n < 200) {
    auto nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    auto bar = line.find('|');
    std::string_view subject = line.substr(0, bar);
    std::string_view refs = bar == std::string_view::npos ? std::string_view() : line.substr(bar + 1);
    bool reply = false;
    std::string base = base_subject(subject, &reply);
    if (base.size() > subject.size() + 1) std::abort();
    (void)first_address(line);
    (void)rfc5322_date_time(line);
    ThreadFacts f;
    f.id = f.seq = ++n;
    f.subject = casemap(base);
    f.reply = reply;
    auto ids = message_ids(refs, 50);
    if (!ids.empty()) {
      f.message_id = ids.back();
      ids.pop_back();
    }
    f.references = std::move(ids);
    f.sent = static_cast<int64_t>(line.size() % 7);
    msgs.push_back(std::move(f));
  }
  for (const std::string& t : {thread_references(msgs), thread_orderedsubject(msgs)}) {
    // Every message appears exactly once.
    std::vector<int> seen(n + 1, 0);
    std::size_t i = 0;
    while (i < t.size()) {
      if (t[i] < '0' || t[i] > '9') {
        ++i;
        continue;
      }
      uint32_t v = 0;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') v = v * 10 + static_cast<uint32_t>(t[i++] - '0');
      if (v == 0 || v > n || seen[v]++) std::abort();
    }
    for (uint32_t k = 1; k <= n; ++k)
      if (!seen[k]) std::abort();
  }
  return 0;
}
