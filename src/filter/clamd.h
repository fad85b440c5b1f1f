// ClamAV through clamd: the message streamed with zINSTREAM in chunks (cut
// at [antivirus] max_scan_size), over TCP ("host:port") or a unix socket,
// on pooled connections (at most max_connections at once; an idle one is
// reused with IDSESSION-free one-shot commands reopened as needed).
#pragma once
#include <memory>

#include "base/config.h"
#include "filter/scan.h"

namespace mailfort::filter {

std::unique_ptr<Antivirus> make_clamd_antivirus(const config::Antivirus& cfg);

}  // namespace mailfort::filter
