#include "runtime/base/json_text.hpp"

#include <ostream>
#include <streambuf>

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

// A stream buffer that keeps nothing but the count of what was written.
class counting_buffer final : public std::streambuf {
 public:
  std::size_t count = 0;

 protected:
  int_type overflow(int_type c) override {
    if (!traits_type::eq_int_type(c, traits_type::eof())) ++count;
    return traits_type::not_eof(c);
  }
  std::streamsize xsputn(const char*, std::streamsize n) override {
    count += static_cast<std::size_t>(n);
    return n;
  }
};

}  // namespace

std::size_t json_dump_size(const nlohmann::json& value) {
  counting_buffer counter;
  std::ostream out(&counter);
  out << value;
  return counter.count;
}

}  // namespace keel
