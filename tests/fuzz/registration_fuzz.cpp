// libFuzzer target for executor registration: decode_frame, then
// fabric::parse_hello, exactly as the node handles a hello frame.
#include "runtime/fabric/fabric_messages.hpp"
#include "tests/fuzz/fabric_fuzz.hpp"
#include "tests/fuzz/json_mutator.hpp"

using namespace keel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto env = fuzz::decode_as(proto::msg_type::hello, data, size);
  if (!env) return 0;
  auto held = fabric::parse_held_leases(env->fields);
  KEEL_FUZZ_CHECK(!held || held->size() <= 4096, "read more held leases than an executor can have");
  auto r = fuzz::guarded("parse_hello", [&] { return fabric::parse_hello(env->fields); });
  if (!r.ok()) return 0;
  const auto& rec = r.value();
  KEEL_FUZZ_CHECK(!rec.id.empty(), "accepted an empty executor_id");
  KEEL_FUZZ_CHECK(rec.capacity >= 1 && rec.capacity <= 4096, "capacity " + std::to_string(rec.capacity));
  KEEL_FUZZ_CHECK(rec.pid >= 0, "negative pid");
  KEEL_FUZZ_CHECK(env->fields.value("protocol", 0) == proto::version, "accepted another protocol version");
  KEEL_FUZZ_CHECK(rec.peer.empty() && rec.leases.empty(), "parser filled connection state");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::mutate(data, size, max_size, seed);
}
