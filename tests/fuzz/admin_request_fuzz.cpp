// libFuzzer target for the fabric's admin requests: decode_frame, then the
// parser for the request's op (run, executors.authorize, executors.drain,
// executors.revoke), exactly as the node handles them.
#include "runtime/fabric/fabric_messages.hpp"
#include "runtime/base/json_fields.hpp"
#include "runtime/base/msgpack_json.hpp"
#include "tests/fuzz/fabric_fuzz.hpp"
#include "tests/fuzz/json_mutator.hpp"

using namespace keel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto env = fuzz::decode_as(proto::msg_type::request, data, size);
  if (!env) return 0;
  auto op = text_field(env->fields, "op");
  nlohmann::json none;
  auto a = env->fields.find("args");
  auto& args = a != env->fields.end() ? *a : none;
  if (op == "executors.authorize") {
    auto r = fuzz::guarded("parse_authorize_request", [&] { return fabric::parse_authorize_request(args); });
    if (r.ok()) {
      KEEL_FUZZ_CHECK(!r->name.empty() && !r->public_key.empty(), "accepted an empty name or key");
      KEEL_FUZZ_CHECK(r->role == "executor" || r->role == "admin", "role " + r->role);
    }
  } else if (op == "executors.drain" || op == "executors.revoke") {
    auto r = fuzz::guarded("parse_name_request", [&] { return fabric::parse_name_request(args, op.c_str()); });
    if (r.ok()) KEEL_FUZZ_CHECK(!r->empty(), "accepted an empty name");
  } else {
    // Everything else is tried as `run`, the request that creates work.
    // The node reads `run` in place: its args as the checked msgpack they came as.
    auto bytes = json_to_msgpack(args);
    auto r = fuzz::guarded("parse_run_request", [&] { return fabric::parse_run_request(msgpack_in::value(bytes)); });
    if (r.ok()) {
      KEEL_FUZZ_CHECK(!r->action.empty(), "accepted an empty action");
      // The args are handed over in place: a map inside the request's bytes
      // (or the empty map), and they read as a JSON object.
      auto a = r->args.bytes();
      bool inside = a.data() >= bytes.data() && a.data() + a.size() <= bytes.data() + bytes.size();
      KEEL_FUZZ_CHECK(r->args.is_map() && (inside || a == std::string_view("\x80", 1)), "args are not a map of the request");
      KEEL_FUZZ_CHECK(r->args.to_json().is_object(), "args do not read as a JSON object");
      auto in_range = [](const std::optional<std::chrono::milliseconds>& d) {
        return !d || (d->count() > 0 && d->count() <= 7LL * 86'400'000);
      };
      KEEL_FUZZ_CHECK(in_range(r->timeout) && in_range(r->schedule_to_start), "a duration out of range");
      KEEL_FUZZ_CHECK(r->idempotency_key.size() <= 200, "an over-long idempotency key");
    }
  }
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::mutate(data, size, max_size, seed);
}
