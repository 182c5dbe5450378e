// What executors and admin clients may say to the executor fabric, checked.
// Each parser takes the fields of a decoded envelope (proto::decode_frame has
// already bounded sizes and depth) and returns a typed message or an error
// whose message names the bad field and what it must be. They never throw,
// never touch sockets or actors, and are what the node runs: the libFuzzer
// targets in tests/fuzz/ drive exactly these functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/base/error.hpp"
#include "runtime/base/msgpack_in.hpp"
#include "runtime/fabric/dispatch_table.hpp"
#include "runtime/fabric/protocol.hpp"

namespace keel::fabric {

// hello: an executor registers. Returns the record without connection
// details (peer, times), which the caller fills in. Errors: bad_request,
// and bad_version when the executor speaks another protocol (naming both).
result<executor_record> parse_hello(const nlohmann::json& fields);

// task_result: an executor reports a finished task, read in place: the
// result stays the checked msgpack the executor sent, to be passed on to
// the caller as it is or read as JSON where the node needs it. `value`
// points into the frame. Errors: bad_request when task_id or lease is
// missing (nothing to match the result to).
struct task_result {
  std::uint64_t task_id = 0;
  std::uint64_t lease = 0;
  bool ok = false;
  msgpack_in::value value;  // when ok; empty when the executor sent none
  error failure;            // when !ok: the action's code and message
  double duration_ms = 0;
};
result<task_result> parse_task_result(const proto::frame_view& frame);

// heartbeat: the leases whose actions reported progress. Bounded: at most
// `max` leases; anything that is not an unsigned integer is ignored.
std::vector<std::uint64_t> parse_beats(const nlohmann::json& fields, std::size_t max = 4096);

// hello: "held", the leases an executor still runs or still has a result
// for (it says hello again after its connection was replaced). nullopt
// when the field is absent: an executor that does not report them keeps
// its leases. At most 4096 (an executor's largest concurrency) are read.
std::optional<std::set<std::uint64_t>> parse_held_leases(const nlohmann::json& fields);

// `run` request args, the "args" entry of the request (an absent one is
// an empty value, and refused like any value that is not a map).
struct run_request {
  std::string action;
  // The action's args, a map (an empty one when the caller gave none),
  // read in place: valid as long as the bytes parse_run_request read.
  msgpack_in::value args;
  std::map<std::string, std::string> selector;
  std::optional<std::chrono::milliseconds> timeout;
  std::optional<std::chrono::milliseconds> schedule_to_start;
  std::string idempotency_key;
};
result<run_request> parse_run_request(const msgpack_in::value& args);

// executors.authorize request args.
struct authorize_request {
  std::string name;
  std::string public_key;
  std::string role;  // "executor" (default) or "admin"
  std::vector<std::string> caps;
  std::map<std::string, std::string> labels;
};
result<authorize_request> parse_authorize_request(const nlohmann::json& args);

// executors.drain / executors.revoke: the executor or key name.
result<std::string> parse_name_request(const nlohmann::json& args, const char* op);

}  // namespace keel::fabric
