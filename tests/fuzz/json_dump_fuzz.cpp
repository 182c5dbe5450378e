// libFuzzer target for keel::dump_json (runtime/base/json_text.hpp), which
// must write exactly what nlohmann's dump() writes. The first byte picks how
// the rest becomes a value: JSON text (valid UTF-8 only) or msgpack (any
// bytes in strings, so invalid UTF-8 and every control character reach the
// writer). Checked: the same text as dump(), or a type_error from both.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/base/json_text.cpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// The text, or nothing when writing it threw nlohmann's type_error.
template <class Write>
std::optional<std::string> written(Write write) {
  try {
    return write();
  } catch (const nlohmann::json::type_error&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  nlohmann::json value;
  if (data[0] & 1) {
    value = keel::parse_json_text(rest);
  } else {
    value = nlohmann::json::from_msgpack(rest.begin(), rest.end(), true, false);
  }
  if (value.is_discarded()) return 0;
  auto theirs = written([&] { return value.dump(); });
  auto ours = written([&] { return keel::dump_json(value); });
  if (theirs.has_value() != ours.has_value()) keel::fuzz::fail_input("one writer threw and the other did not", size);
  if (theirs && *theirs != *ours) keel::fuzz::fail_input("dump_json wrote other text than dump()", size);
  if (theirs && keel::json_dump_size_bound(value) < theirs->size())
    keel::fuzz::fail_input("json_dump_size_bound is below the size of the dump", size);
  return 0;
}
