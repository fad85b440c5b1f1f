#include "imap/imap_session_impl.h"

// Helpers shared by the command files: flag lists, the response code of a
// store error, sequence sets.
namespace mailfort::imap {

const char* kSystemFlags[] = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"};

std::string flags_text(uint32_t flags, const std::vector<std::string>& keywords) {
  std::string out = "(";
  for (int i = 0; i < 5; ++i) {
    if (flags & (1u << i)) {
      if (out.size() > 1) out += ' ';
      out += kSystemFlags[i];
    }
  }
  for (const auto& k : keywords) {
    if (out.size() > 1) out += ' ';
    out += k;
  }
  return out + ")";
}

// Splits client flags into system bits and keywords; false on \Recent or an
// unknown system flag (RFC 9051: BAD).
bool split_flags(const std::vector<std::string>& in, uint32_t& bits, std::vector<std::string>& keywords) {
  bits = 0;
  for (const auto& f : in) {
    if (!f.empty() && f[0] == '\\') {
      bool found = false;
      for (int i = 0; i < 5; ++i) {
        if (strcasecmp(f.c_str(), kSystemFlags[i]) == 0) {
          bits |= 1u << i;
          found = true;
        }
      }
      if (!found) return false;
    } else if (std::find(keywords.begin(), keywords.end(), f) == keywords.end()) {
      keywords.push_back(f);
    }
  }
  return true;
}

std::string error_code(const Error& e) {
  switch (e.code) {
    case Errc::NotFound:
      return "[NONEXISTENT] ";
    case Errc::Exists:
      return "[ALREADYEXISTS] ";
    case Errc::OverQuota:
      return "[OVERQUOTA] ";
    case Errc::Temp:
      return "[UNAVAILABLE] ";
    default:
      return "[CANNOT] ";
  }
}

std::string seq_set_text(const std::vector<uint32_t>& sorted) {
  std::string out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(sorted[i]);
    if (j > i) out += ':' + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

bool valid_seqs(const SequenceSet& set, std::size_t n) {
  for (auto r : set.ranges) {
    if ((r.lo != SequenceSet::kStar && r.lo > n) || (r.hi != SequenceSet::kStar && r.hi > n)) return false;
  }
  return n > 0 || set.ranges.empty();
}

}  // namespace mailfort::imap
