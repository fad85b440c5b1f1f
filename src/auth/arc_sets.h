// Inside src/auth: the ARC header fields of a header block grouped into
// sets by instance (RFC 8617 4.2 and 5.2 step 1), shared by chain
// validation and sealing. Only structure is checked here: each field's
// i=, one field of each kind per instance, no gaps.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"

namespace mailfort::auth {

struct ArcSetFields {
  const dkim::HeaderField* results = nullptr;    // ARC-Authentication-Results
  const dkim::HeaderField* signature = nullptr;  // ARC-Message-Signature
  const dkim::HeaderField* seal = nullptr;       // ARC-Seal
};

struct ArcSets {
  bool any = false;                // at least one ARC header field
  int newest = 0;                  // highest valid i= seen
  std::vector<ArcSetFields> sets;  // sets[i - 1]; sized `newest`
  std::string error;               // the first structural problem; "" = sets 1..newest complete
};

// At most 3 * 50 ARC fields are looked at; more is itself an error.
ArcSets collect_arc_sets(const std::vector<dkim::HeaderField>& fields);

// The field's name without the WSP it may carry before its colon.
std::string_view bare_name(const dkim::HeaderField& f);
// ARC-Seal, ARC-Message-Signature or ARC-Authentication-Results (any case).
bool is_arc_field(const dkim::HeaderField& f);

// The signed header fields of an ARC-Message-Signature (RFC 6376 5.4.2):
// for each name of `names` (lower case) the next instance from the bottom
// up, canonicalized, each followed by CRLF; a name with no instance left
// adds nothing.
std::string signed_fields_input(const std::vector<dkim::HeaderField>& fields,
                                const std::vector<std::string>& names, bool relaxed);

}  // namespace mailfort::auth
