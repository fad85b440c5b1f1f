// The selected folder as one IMAP session sees it: message numbers map to
// UIDs, with the flags and MODSEQ the session last reported. 16 bytes per
// message, so 10,000 IDLE sessions on 1,000-message folders stay small;
// keywords (rare) live in a side map, and size, internal date and the
// cached structure stay in the index (UserMailbox::details) until a FETCH
// or SEARCH needs them.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/mailbox.h"

namespace mailfort::imap {

class ImapView {
 public:
  struct Entry {
    uint32_t uid = 0;
    uint32_t flags = 0;
    uint64_t modseq = 0;
  };

  // `messages` by ascending UID (as UserMailbox::messages returns them).
  void load(const std::vector<store::MessageMeta>& messages) {
    clear();
    entries_.reserve(messages.size());
    for (auto& m : messages) push(m);
  }
  void clear() {
    std::vector<Entry>().swap(entries_);
    keywords_.clear();
  }

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // `seq` is 1-based everywhere below.
  const Entry& at(uint32_t seq) const { return entries_[seq - 1]; }
  uint32_t uid(uint32_t seq) const { return entries_[seq - 1].uid; }
  uint32_t last_uid() const { return entries_.empty() ? 0 : entries_.back().uid; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::vector<std::string>& keywords(uint32_t seq) const {
    static const std::vector<std::string> none;
    auto it = keywords_.find(entries_[seq - 1].uid);
    return it == keywords_.end() ? none : it->second;
  }

  // 0 when the UID is not in the view.
  uint32_t seq_of_uid(uint32_t uid) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), uid,
                               [](const Entry& e, uint32_t u) { return e.uid < u; });
    return it != entries_.end() && it->uid == uid ? static_cast<uint32_t>(it - entries_.begin() + 1) : 0;
  }

  // A message with a UID above every other (new mail).
  void push(const store::MessageMeta& m) {
    entries_.push_back({m.uid, m.flags, m.modseq});
    if (!m.keywords.empty()) keywords_[m.uid] = m.keywords;
  }
  // New flags/keywords/modseq for the message at `seq`; true if its flags
  // or keywords differ from what the session had.
  bool update(uint32_t seq, const store::MessageMeta& m) {
    Entry& e = entries_[seq - 1];
    bool changed = e.flags != m.flags || keywords(seq) != m.keywords;
    e.flags = m.flags;
    e.modseq = m.modseq;
    if (m.keywords.empty())
      keywords_.erase(m.uid);
    else
      keywords_[m.uid] = m.keywords;
    return changed;
  }
  void erase(uint32_t seq) {
    keywords_.erase(entries_[seq - 1].uid);
    entries_.erase(entries_.begin() + (seq - 1));
  }

 private:
  std::vector<Entry> entries_;
  std::map<uint32_t, std::vector<std::string>> keywords_;  // by UID, only messages that have any
};

}  // namespace mailfort::imap
