// libFuzzer target for task results: view_frame, then
// fabric::parse_task_result, exactly as the node handles a result frame,
// checked against decode_frame's reading of the same bytes.
#include "runtime/fabric/fabric_messages.hpp"
#include "tests/fuzz/fabric_fuzz.hpp"
#include "tests/fuzz/json_mutator.hpp"

using namespace keel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string frame(fuzz::as_frame(data, size));
  if (frame.size() >= 2) frame[1] = static_cast<char>(proto::msg_type::task_result);
  auto env = fuzz::checked_decode(frame, proto::limits{});
  if (!env) return 0;
  // The node reads a result in place, from the same bytes.
  auto view = proto::view_frame(frame);
  KEEL_FUZZ_CHECK(view.ok(), "view_frame refused a frame decode_frame accepted");
  const auto& copy = env->fields;
  auto r = fuzz::guarded("parse_task_result", [&] { return fabric::parse_task_result(*view); });
  auto beats = fabric::parse_beats(copy, 16);
  KEEL_FUZZ_CHECK(beats.size() <= 16, "parse_beats ignored its bound");
  if (!r.ok()) return 0;
  const auto& t = r.value();
  KEEL_FUZZ_CHECK(copy["task_id"].get<std::uint64_t>() == t.task_id, "task_id changed");
  KEEL_FUZZ_CHECK(copy["lease"].get<std::uint64_t>() == t.lease, "lease changed");
  if (!t.ok) KEEL_FUZZ_CHECK(!t.failure.code.empty() && !t.failure.message.empty(), "a failure without code or message");
  // dump(), not ==: NaN != NaN, yet a NaN passed through unchanged is fine.
  if (t.ok && copy.contains("result"))
    KEEL_FUZZ_CHECK(t.value.to_json().dump() == copy["result"].dump(), "result changed on the way through");
  // What the node passes on to the caller reads back as the same value.
  if (t.ok && t.value) {
    auto again = msgpack_in::check(t.value.bytes(), {});
    KEEL_FUZZ_CHECK(again.ok() && *again == t.value.bytes().size(), "a result's bytes are not one checked value");
  }
  return 0;
}

extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::mutate(data, size, max_size, seed);
}
