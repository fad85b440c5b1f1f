// Opens the shared state's Redis from [state] (backend = "redis"), for the
// server and for the CLI alike.
#pragma once
#include <memory>

#include "base/config.h"
#include "base/result.h"
#include "state/redis.h"

namespace mailfort::state {

// Null when [state] backend is "local". The password is the first line of
// redis_password_file. Does not connect: an unreachable Redis at start-up
// means local state until it answers, not a failed start.
Result<std::shared_ptr<Redis>> open_redis(const config::State& cfg);

}  // namespace mailfort::state
