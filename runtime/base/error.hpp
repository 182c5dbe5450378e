// Errors as values. Every fallible call in Keel returns result<T>: either a
// value or an `error` that names what failed, on what input, and what the
// user can do about it. Exceptions never cross a layer boundary; code that
// calls a throwing library (yaml-cpp, nlohmann::json) catches at the call
// site and converts.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace keel {

// Stable error codes: they travel on the wire and scripts match on them.
namespace errc {
inline constexpr const char* bad_request = "bad_request";      // malformed input
inline constexpr const char* bad_frame = "bad_frame";          // undecodable wire frame
inline constexpr const char* bad_version = "bad_version";      // unknown protocol version
inline constexpr const char* not_found = "not_found";          // unknown agent/executor/action
inline constexpr const char* unavailable = "unavailable";      // nothing can serve it right now
inline constexpr const char* timeout = "timeout";              // deadline passed
inline constexpr const char* action_failed = "action_failed";  // the action itself returned an error
inline constexpr const char* executor_lost = "executor_lost";  // attempts exhausted by dying executors
inline constexpr const char* forbidden = "forbidden";          // disabled by config or policy
inline constexpr const char* io = "io";                        // file system / database failure
inline constexpr const char* config = "config";                // invalid configuration
inline constexpr const char* conflict = "conflict";            // idempotency key reused with other input
inline constexpr const char* payload_too_large = "payload_too_large";
inline constexpr const char* result_too_large = "result_too_large";  // an action's result would not fit in a frame
inline constexpr const char* internal = "internal";            // a bug: please report it
}  // namespace errc

struct error {
  std::string code;     // one of errc::*
  std::string message;  // one line: what is wrong and what to do next

  error() = default;
  error(std::string c, std::string m) : code(std::move(c)), message(std::move(m)) {}
};

// A value or an error. Deliberately tiny (std::expected is C++23).
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(error e) : v_(std::move(e)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

// result<void>: success carries nothing.
struct ok_t {};
inline constexpr ok_t ok_v{};
using status = result<ok_t>;

}  // namespace keel
