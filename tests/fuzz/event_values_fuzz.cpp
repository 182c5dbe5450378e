// libFuzzer target for what the canonicalizer does with a connector event's
// values (storage/memory/event_values.hpp) and for the canonical msgpack
// writer that record hashes are computed over (runtime/base/msgpack_json.hpp,
// linked in like the other fuzz targets' shared pieces). The input's first line is a
// path / {{ template }}; the rest is the event, as JSON text or (first byte
// '\x01') as msgpack, which may carry NaN and strings that are not UTF-8.
// Checked: nothing throws; messages are UTF-8 and short; a conversion that
// succeeds gives the type it names; the writer's output decodes and
// re-encodes to the same bytes. The code is pure and compiled in here.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/base/msgpack_json.hpp"
#include "runtime/base/utf8.hpp"
#include "storage/memory/event_values.cpp"
#include "storage/memory/schema.cpp"

namespace {

using keel::memory::conversion;
using nlohmann::json;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "%s: %s\n", what, detail.c_str());
  std::abort();
}

bool all_strings_utf8(const json& j) {
  if (j.is_string()) return keel::utf8::valid(j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& [k, v] : j.items())
      if (!keel::utf8::valid(k) || !all_strings_utf8(v)) return false;
  } else if (j.is_array()) {
    for (const auto& v : j)
      if (!all_strings_utf8(v)) return false;
  }
  return true;
}

void leaves(const json& j, std::vector<const json*>& out) {
  if (out.size() >= 200) return;
  if (j.is_object() || j.is_array()) {
    for (const auto& v : j) leaves(v, out);
  } else {
    out.push_back(&j);
  }
}

void check_conversion(conversion c, const json& in) {
  auto r = keel::memory::convert_value(c, in);
  if (!r) {
    const auto& m = r.err().message;
    if (!keel::utf8::valid(m) || m.size() > 300) fail("conversion error is not short UTF-8 text", m);
    return;
  }
  const json& v = r.value();
  bool fits = true;
  switch (c) {
    case conversion::none: fits = v == in || (v.is_number_float() && std::isnan(v.get<double>())); break;
    case conversion::integer: fits = v.is_number_integer(); break;
    case conversion::number:
    case conversion::cents: fits = v.is_number() && std::isfinite(v.get<double>()); break;
    case conversion::boolean: fits = v.is_boolean(); break;
    case conversion::timestamp:
      fits = v.is_string() && keel::parse_timestamp(v.get<std::string>()).has_value();
      break;
    case conversion::string:
    case conversion::lower:
    case conversion::trim: fits = v.is_string(); break;
  }
  if (!fits) fail("a conversion gave a value of the wrong type", v.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 8192) return 0;  // nlohmann's msgpack reader recurses per level: keep nesting bounded
  std::string_view in(reinterpret_cast<const char*>(data), size);
  bool as_msgpack = !in.empty() && in[0] == '\x01';
  if (as_msgpack) in.remove_prefix(1);
  auto nl = in.find('\n');
  std::string head(in.substr(0, nl == std::string_view::npos ? in.size() : nl));
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  json doc = as_msgpack ? json::from_msgpack(body.begin(), body.end(), true, false) : json::parse(body, nullptr, false, false);
  if (doc.is_discarded()) return 0;

  (void)keel::memory::value_at(doc, head);
  auto text = keel::memory::render_text(head, doc);
  if (keel::utf8::valid(head) && all_strings_utf8(doc) && !keel::utf8::valid(text))
    fail("render_text made UTF-8 input into text that is not", text);
  auto shown = keel::memory::json_for_message(doc);
  if (!keel::utf8::valid(shown) || shown.size() > 123) fail("json_for_message broke its promise", shown);

  std::vector<const json*> values;
  leaves(doc, values);
  for (const json* v : values)
    for (auto c : {conversion::none, conversion::string, conversion::integer, conversion::number, conversion::boolean,
                   conversion::timestamp, conversion::lower, conversion::trim, conversion::cents})
      check_conversion(c, *v);

  // Canonical: what the writer wrote reads back, and writes the same bytes again.
  std::string once;
  keel::msgpack_out::json(once, doc);
  json back = json::from_msgpack(once, true, false);
  if (back.is_discarded()) fail("the writer's msgpack does not decode", std::to_string(once.size()) + " bytes");
  std::string twice;
  keel::msgpack_out::json(twice, back);
  if (once != twice) fail("the writer is not canonical", "a round trip changed the bytes");
  return 0;
}
