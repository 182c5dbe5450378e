// libFuzzer target for keel::proto::decode_frame, the node's first line of
// defence against hostile peers, and for its msgpack reader against
// msgpack-c's (reference_reader.hpp). See fuzz_common.hpp for the input layout and
// the properties checked. Build and run with tools/run_fuzzers.sh.
#include "runtime/fabric/bundle.hpp"
#include "tests/fuzz/fuzz_common.hpp"
#include "tests/fuzz/json_mutator.hpp"
#include "tests/fuzz/reference_reader.hpp"

using namespace keel;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto f = fuzz::as_frame(data, size);

  // The limits the gateway uses by default.
  auto r = fuzz::checked_decode(f, proto::limits{});
  if (r.ok()) fuzz::check_round_trip(r.value(), proto::limits{});

  // The one-pass reader against msgpack-c's unpacker and a plain
  // conversion: both accept the same bodies and read the same values.
  if (f.size() >= 2) {
    auto body = f.substr(2);
    for (auto lim : {proto::limits{}, fuzz::small_limits()}) {
      auto ours = msgpack_in::check(body, {lim.max_depth, lim.max_container});
      bool ours_ok = ours.ok() && *ours == body.size();
      auto ref = fuzz::reference_read(body, lim.max_depth, lim.max_container);
      KEEL_FUZZ_CHECK(ours_ok == ref.has_value(),
                      std::string("msgpack_in ") + (ours_ok ? "accepted" : "refused") + " a body msgpack-c " +
                          (ref ? "accepted" : "refused") + (ours.ok() ? "" : ": " + ours.err().message));
      if (ours_ok)
        KEEL_FUZZ_CHECK(json_to_msgpack(msgpack_in::value(body).to_json()) == json_to_msgpack(*ref),
                        "msgpack_in read another value than msgpack-c");
    }
    // A decoded frame's fields are the reference's map without the ids.
    if (r.ok()) {
      auto ref = fuzz::reference_read(body, proto::limits{}.max_depth, proto::limits{}.max_container);
      KEEL_FUZZ_CHECK(ref && ref->is_object(), "decode_frame accepted a body msgpack-c refused");
      for (const char* id : {"cid", "trace", "span"}) ref->erase(id);
      KEEL_FUZZ_CHECK(json_to_msgpack(*ref) == json_to_msgpack(r->fields), "decode_frame's fields differ from msgpack-c's");
    }
  }

  // What the gateway reads from a result frame it refused: never more than
  // the decoder itself would have read from an accepted one.
  auto ids = proto::peek_task_ids(f);
  if (ids && r.ok() && r->fields.is_object()) {
    const auto& fields = r->fields;
    if (fields.contains("task_id") && fields["task_id"].is_number_unsigned() && fields.contains("lease") &&
        fields["lease"].is_number_unsigned())
      KEEL_FUZZ_CHECK(fields["task_id"].get<std::uint64_t>() == ids->task_id &&
                          fields["lease"].get<std::uint64_t>() == ids->lease,
                      "peek_task_ids read other ids than the decoder");
  }

  // A bundle: refused whole, or its frames decode one by one, and bundling
  // them again reads back the same frames.
  if (proto::is_bundle(f)) {
    auto frames = proto::split_bundle(f);
    if (frames.ok()) {
      std::vector<std::string> copies;
      for (auto inner : *frames) {
        KEEL_FUZZ_CHECK(inner.size() >= 2 && !proto::is_bundle(inner), "split_bundle let through a bad frame");
        (void)fuzz::checked_decode(inner, proto::limits{});
        copies.emplace_back(inner);
      }
      auto again = proto::bundle_frames(copies, 1 << 21);
      KEEL_FUZZ_CHECK(again.size() == 1, "one bundle's frames did not fit one bundle again");
      std::vector<std::string> back;
      if (proto::is_bundle(again[0])) {
        auto re = proto::split_bundle(again[0], {.max_body_bytes = 1 << 21});
        KEEL_FUZZ_CHECK(re.ok(), "a bundle we built did not split");
        for (auto inner : *re) back.emplace_back(inner);
      } else {
        back.push_back(again[0]);
      }
      KEEL_FUZZ_CHECK(back == copies, "frames changed through a second bundling");
    }
  }

  // Tight limits: every refusal path is reachable with short inputs, and
  // whatever passes tight limits must pass the default ones unchanged.
  auto small = fuzz::checked_decode(f, fuzz::small_limits());
  if (small.ok()) {
    KEEL_FUZZ_CHECK(r.ok(), "accepted with small limits but refused with the defaults: " + r.err().message);
    KEEL_FUZZ_CHECK(proto::encode_frame(small.value()) == proto::encode_frame(r.value()),
                    "small and default limits decode to different messages");
    fuzz::check_round_trip(small.value(), fuzz::small_limits());
  }
  return 0;
}

// Structure-aware mutations (json_mutator.hpp) mixed with libFuzzer's own.
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  return fuzz::mutate(data, size, max_size, seed);
}
