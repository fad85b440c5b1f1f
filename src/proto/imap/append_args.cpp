#include "proto/imap/append_args.h"

#include "proto/imap/command.h"

namespace mailfort::proto::imap {

bool attach_cut_literals(Command& c, std::vector<std::string>& messages) {
  std::size_t used = 0;
  auto take = [&](int cut, std::string& into) {
    if (cut < 0) return true;
    if (static_cast<std::size_t>(cut) != used || used >= messages.size()) return false;
    into = std::move(messages[used++]);
    return true;
  };
  for (auto& m : c.appends) {
    if (!take(m.cut, m.literal)) return false;
    for (auto& p : m.parts)
      if (!take(p.cut, p.data)) return false;
  }
  return used == messages.size();
}

}  // namespace mailfort::proto::imap
