// Result<T>: a value or a semantic error with a message. Used across service
// interfaces (directory, store, policy) so protocols can map errors to their
// own replies; storage never writes protocol text.
#pragma once
#include <string>
#include <utility>
#include <variant>

namespace mailfort {

enum class Errc {
  NotFound,      // no such domain/account/alias/...
  Exists,        // already there
  Invalid,       // bad input (syntax, bounds)
  WeakPassword,  // password rejected by the strength policy
  Denied,        // authentication/authorisation failure
  Temp,          // transient (busy database, I/O): retry may succeed
  Perm,          // permanent failure (corrupt store, unsupported)
  OverQuota,     // the account's storage limit would be exceeded
};

const char* errc_name(Errc e);

struct Error {
  Errc code;
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error e) : v_(std::move(e)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_{Errc::Perm, {}};
  bool ok_ = true;
};

inline Error make_error(Errc c, std::string msg) {
  return Error{c, std::move(msg)};
}

}  // namespace mailfort
