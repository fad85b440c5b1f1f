// DMARC policy records (RFC 7489 6.3, with the np= tag of DMARCbis): the
// TXT record at _dmarc.<domain>, read into its tags. Pure; faces untrusted
// input (DNS answers). v=DMARC1 must be the first tag; p= is required, but
// a record without a valid p= that has a valid rua= is read as p=none
// (RFC 7489 6.6.3); unknown tags are ignored, invalid optional tags fall
// back to their defaults. Bounds: one linear pass over at most
// `max_record_bytes`, at most `max_uris` URIs per list.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailfort::proto::dmarc {

enum class Policy { None, Quarantine, Reject };
enum class Alignment { Relaxed, Strict };

struct ReportUri {
  std::string uri;        // "mailto:dmarc@example.test"
  uint64_t max_size = 0;  // !size in bytes; 0 = no limit given
};

struct Record {
  Policy p = Policy::None;
  bool p_given = false;      // false: p= missing or invalid, read as none because of rua=
  std::optional<Policy> sp;  // subdomains (default p)
  std::optional<Policy> np;  // non-existent subdomains (DMARCbis; default sp, then p)
  int pct = 100;             // 0..100
  Alignment adkim = Alignment::Relaxed;
  Alignment aspf = Alignment::Relaxed;
  std::vector<ReportUri> rua, ruf;
  std::string fo = "0";
  std::string rf = "afrf";
  uint32_t ri = 86400;
};

enum class RecordError {
  None,
  NotDmarc,  // does not start with v=DMARC1 (not a DMARC record at all)
  NoPolicy,  // no valid p= and no valid rua=: the record is discarded
  TooLong,   // more than max_record_bytes
};

struct RecordLimits {
  std::size_t max_record_bytes = 4096;
  std::size_t max_uris = 16;
};

struct ParsedRecord {
  RecordError error = RecordError::None;
  Record record;
  bool ok() const { return error == RecordError::None; }
};

ParsedRecord parse_record(std::string_view text, const RecordLimits& limits = {});

// Whether a TXT string is meant to be a DMARC record (starts with "v=DMARC1",
// blanks allowed around '='): records that are not are ignored when several
// TXT records stand at _dmarc.<domain>.
bool looks_like_dmarc(std::string_view text);

const char* policy_name(Policy p);  // "none", "quarantine", "reject"
const char* record_error_name(RecordError e);

}  // namespace mailfort::proto::dmarc
