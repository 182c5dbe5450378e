// libFuzzer target for what Keel decodes in an HTTP request itself
// (runtime/http/http_text.hpp; Boost.Beast parses the request line and fields):
// percent-decoding, the request target's path and query, form bodies and
// the Cookie header. Any bytes must give a value, never a crash, and every
// output must be consistent with its input: never longer, decoded exactly
// once (encoding then decoding gives the bytes back), cookie values taken
// from the header as they are. The decoder is compiled in here (it is pure).
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/http/http_text.cpp"
#include "tests/fuzz/fuzz_common.hpp"

namespace {

// Every byte that is not unreserved as %XX: what a browser's form encoder
// would at most produce.
std::string encode_all(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace keel::httpd;

  for (bool plus : {false, true}) {
    auto d = percent_decode(in, plus);
    if (d.size() > in.size()) keel::fuzz::fail_input("percent_decode grew its input", in.size());
    if (in.find('%') == std::string_view::npos && (!plus || in.find('+') == std::string_view::npos) && d != in)
      keel::fuzz::fail_input("percent_decode changed text without escapes", in.size());
    if (percent_decode(encode_all(in), plus) != in) keel::fuzz::fail_input("decoding an encoded text did not give it back", in.size());
  }

  auto t = split_target(in);
  if (t.path.size() > in.size()) keel::fuzz::fail_input("split_target's path is longer than the target", in.size());
  if (!t.query.empty() && (t.query.size() >= in.size() || in.substr(in.size() - t.query.size()) != t.query))
    keel::fuzz::fail_input("split_target's query is not the target's tail", in.size());

  auto q = parse_query(in);
  std::size_t parts = 1;
  for (char c : in) parts += c == '&';
  if (q.size() > parts) keel::fuzz::fail_input("parse_query found more pairs than there are parts", in.size());
  for (const auto& [k, v] : q)
    if (k.size() + v.size() > in.size()) keel::fuzz::fail_input("a query pair is longer than the query", in.size());

  auto split = in.find('\n');
  auto name = split == std::string_view::npos ? std::string_view("keel_console") : in.substr(0, split);
  auto header = split == std::string_view::npos ? in : in.substr(split + 1);
  auto v = cookie_value(header, name);
  if (!v.empty() && (v.find(';') != std::string::npos || header.find(v) == std::string_view::npos))
    keel::fuzz::fail_input("cookie_value is not a piece of one cookie in the header", in.size());
  return 0;
}
