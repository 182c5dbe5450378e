#include "runtime/base/json_text.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <memory>
#include <utility>

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

std::size_t json_dump_size_bound(const nlohmann::json& value) {
  using t = nlohmann::json::value_t;
  constexpr std::size_t escaped = 6;  // \u00XX
  switch (value.type()) {
    case t::object: {
      std::size_t n = 2;
      for (const auto& [k, v] : value.items()) n += k.size() * escaped + 4 + json_dump_size_bound(v);
      return n;
    }
    case t::array: {
      std::size_t n = 2;
      for (const auto& v : value) n += json_dump_size_bound(v) + 1;
      return n;
    }
    case t::string: return value.get_ref<const std::string&>().size() * escaped + 2;
    case t::binary: return value.get_binary().size() * 4 + 64;  // {"bytes":[n,...],"subtype":n}
    default: return 32;  // numbers (at most 24 characters), true, false, null, <discarded>
  }
}

std::optional<std::size_t> json_dump_size_if_over(const nlohmann::json& value, std::size_t limit) {
  if (json_dump_size_bound(value) <= limit) return std::nullopt;
  auto size = json_dump_size(value);
  return size > limit ? std::optional<std::size_t>(size) : std::nullopt;
}

namespace {

// What dump() does with each byte: copies it (printable ASCII but '"' and
// '\\', and DEL), escapes it (those two and the control characters), or
// decodes it as UTF-8 (the rest, left to nlohmann).
enum class byte_kind : unsigned char { copy, escape, utf8 };

constexpr std::array<byte_kind, 256> byte_kinds() {
  std::array<byte_kind, 256> k{};
  for (int c = 0; c < 256; ++c)
    k[c] = c >= 0x80 ? byte_kind::utf8 : (c < 0x20 || c == '"' || c == '\\') ? byte_kind::escape : byte_kind::copy;
  return k;
}

constexpr auto kind_of = byte_kinds();

template <class Int>
void append_integer(std::string& out, Int v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

void append_json_integer(std::string& out, std::int64_t v) { append_integer(out, v); }
void append_json_integer(std::string& out, std::uint64_t v) { append_integer(out, v); }

void append_json_string(std::string& out, std::string_view text) {
  // dump()'s escapes: the two that must be, the five short ones, and
  // \u00XX (lower-case hex) for the other control characters.
  static constexpr char hex[] = "0123456789abcdef";
  const auto start = out.size();
  out.reserve(start + text.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const auto kind = kind_of[c];
    if (kind == byte_kind::copy) continue;
    if (kind == byte_kind::utf8) {
      out.resize(start);
      out += nlohmann::json(text).dump();
      return;
    }
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default: {
        const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(u, sizeof u);
      }
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

void append_json(std::string& out, const nlohmann::json& value) {
  using t = nlohmann::json::value_t;
  switch (value.type()) {
    case t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : value.items()) {
        if (!std::exchange(first, false)) out += ',';
        append_json_string(out, k);
        out += ':';
        append_json(out, v);
      }
      out += '}';
      return;
    }
    case t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : value) {
        if (!std::exchange(first, false)) out += ',';
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
