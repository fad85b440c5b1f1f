// run_blocking: runs blocking work (SQL, password hashing, fsync) on the
// worker pool and resumes the calling coroutine on its own I/O executor, so
// an I/O thread never blocks.
#pragma once
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/dispatch.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

#include <exception>
#include <optional>
#include <type_traits>

namespace mailfort::server {

template <class F>
asio::awaitable<std::invoke_result_t<F&>> run_blocking(asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F&>;
  std::optional<R> result;
  std::exception_ptr failure;
  // `result`, `failure` and `fn` live in this coroutine frame, which stays
  // alive while the coroutine is suspended here.
  co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
      [&](auto handler) {
        auto io = asio::get_associated_executor(handler);
        asio::post(pool, [&, handler = std::move(handler), guard = asio::make_work_guard(io)]() mutable {
          try {
            result.emplace(fn());
          } catch (...) {
            failure = std::current_exception();
          }
          auto ex = guard.get_executor();
          asio::dispatch(ex, std::move(handler));
        });
      },
      asio::use_awaitable);
  if (failure) std::rethrow_exception(failure);
  co_return std::move(*result);
}

}  // namespace mailfort::server
