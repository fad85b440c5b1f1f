// use_tuple: the completion token our coroutines await with. Failures come
// back as values (std::tuple<std::error_code, ...>) rather than exceptions:
// a peer closing or a timer being cancelled is ordinary here.
#pragma once
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

namespace mailfort {

inline constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

}  // namespace mailfort
