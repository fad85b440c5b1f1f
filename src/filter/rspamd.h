// Rspamd as the spam engine ([spam] engine = "rspamd"): each message posted
// to its normal worker's /checkv2 with the envelope, client IP, HELO and
// authenticated user as headers (libcurl), its JSON answer turned into a
// ScanResult (action, score, symbols, milter headers); learning posts to
// the controller's /learnspam and /learnham with the password of [spam]
// rspamd_password_file.
#pragma once
#include <memory>

#include "base/config.h"
#include "filter/scan.h"

namespace mailfort::filter {

std::unique_ptr<SpamEngine> make_rspamd_engine(const config::Spam& cfg);

}  // namespace mailfort::filter
