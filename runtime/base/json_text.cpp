#include "runtime/base/json_text.hpp"

#include <charconv>
#include <cstdint>
#include <memory>

#include "runtime/base/utf8.hpp"

namespace keel {

std::size_t json_depth(std::string_view text, std::size_t limit) {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) {
        deepest = depth;
        if (deepest > limit) return limit + 1;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

nlohmann::json parse_json_text(std::string_view text, std::string* why, std::size_t max_depth) {
  if (json_depth(text, max_depth) > max_depth) {
    if (why) *why = "nested deeper than " + std::to_string(max_depth) + " levels";
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    if (why) *why = "not valid JSON: " + utf8::repaired(e.what());  // it quotes the input it stopped at
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

namespace {

// Keeps nothing but the count of what the serializer writes.
class counting_output final : public nlohmann::detail::output_adapter_protocol<char> {
 public:
  std::size_t count = 0;
  void write_character(char) override { ++count; }
  void write_characters(const char*, std::size_t n) override { count += n; }
};

}  // namespace

std::size_t json_dump_size(const nlohmann::json& value) {
  // The serializer that dump() uses, writing into a counter: no stream (its
  // locale set-up costs more than counting a small value) and no text.
  auto counter = std::make_shared<counting_output>();
  nlohmann::detail::serializer<nlohmann::json> out(counter, ' ');
  out.dump(value, false, false, 0);
  return counter->count;
}

namespace {

// Printable ASCII but '"' and '\\': what dump() copies unchanged (it escapes
// control characters and leaves DEL and UTF-8 as they are).
bool plain_ascii(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
  return true;
}

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  if (plain_ascii(text)) {
    out.reserve(out.size() + text.size() + 2);
    out += '"';
    out += text;
    out += '"';
    return;
  }
  out += nlohmann::json(text).dump();
}

void append_json(std::string& out, const nlohmann::json& value) {
  using t = nlohmann::json::value_t;
  switch (value.type()) {
    case t::object: {
      if (value.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, k);
        out += ':';
        append_json(out, v);
      }
      out += '}';
      return;
    }
    case t::array: {
      if (value.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& v : value) {
        if (!first) out += ',';
        first = false;
        append_json(out, v);
      }
      out += ']';
      return;
    }
    case t::string: append_json_string(out, value.get_ref<const std::string&>()); return;
    case t::number_integer: append_integer(out, value.get<std::int64_t>()); return;
    case t::number_unsigned: append_integer(out, value.get<std::uint64_t>()); return;
    case t::boolean: out += value.get<bool>() ? "true" : "false"; return;
    case t::null: out += "null"; return;
    default: out += value.dump(); return;  // floats (nlohmann's own shortest form), binary, discarded
  }
}

std::string dump_json(const nlohmann::json& value) {
  std::string out;
  append_json(out, value);
  return out;
}

}  // namespace keel
