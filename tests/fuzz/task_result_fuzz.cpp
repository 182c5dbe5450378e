// libFuzzer target for task results: decode_frame, then
// fabric::parse_task_result, exactly as the node handles a result frame.
#include "runtime/fabric/fabric_messages.hpp"
#include "tests/fuzz/fabric_fuzz.hpp"
#include "tests/fuzz/json_mutator.hpp"

using namespace keel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto env = fuzz::decode_as(proto::msg_type::task_result, data, size);
  if (!env) return 0;
  auto copy = env->fields;
  auto r = fuzz::guarded("parse_task_result", [&] { return fabric::parse_task_result(env->fields); });
  auto beats = fabric::parse_beats(copy, 16);
  KEEL_FUZZ_CHECK(beats.size() <= 16, "parse_beats ignored its bound");
  if (!r.ok()) return 0;
  const auto& t = r.value();
  KEEL_FUZZ_CHECK(copy["task_id"].get<std::uint64_t>() == t.task_id, "task_id changed");
  KEEL_FUZZ_CHECK(copy["lease"].get<std::uint64_t>() == t.lease, "lease changed");
  if (!t.ok) KEEL_FUZZ_CHECK(!t.failure.code.empty() && !t.failure.message.empty(), "a failure without code or message");
  // dump(), not ==: NaN != NaN, yet a NaN passed through unchanged is fine.
  if (t.ok && copy.contains("result"))
    KEEL_FUZZ_CHECK(t.value.dump() == copy["result"].dump(), "result changed on the way through");
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::mutate(data, size, max_size, seed);
}
