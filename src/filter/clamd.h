// ClamAV through clamd: the message streamed with zINSTREAM in chunks (cut
// at [antivirus] max_scan_size), over TCP ("host:port") or a unix socket,
// one connection per scan, at most max_connections at once (the others wait
// within timeout_seconds; clamd.cpp says why connections are not kept open).
// A bad address is logged and gives nullptr.
#pragma once
#include <memory>

#include "base/config.h"
#include "filter/scan.h"

namespace mailfort::filter {

std::unique_ptr<Antivirus> make_clamd_antivirus(const config::Antivirus& cfg);

}  // namespace mailfort::filter
