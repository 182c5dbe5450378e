// The parts of an HTTP request that Keel decodes itself, as pure functions
// over strings: percent-decoding, the query string and form bodies
// (application/x-www-form-urlencoded), and one cookie out of a Cookie
// header. Boost.Beast parses the request line and fields; what is inside
// them is ours. Nothing here fails: malformed escapes are kept as they are,
// and every output is at most as long as its input. tests/fuzz drives these.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace keel::httpd {

// Header names and tokens compare without regard to ASCII case.
bool iequals(std::string_view a, std::string_view b);

// "%41" -> "A"; a '%' not followed by two hex digits stays as it is. With
// plus_is_space ('+' in a query or form), '+' becomes ' '.
std::string percent_decode(std::string_view text, bool plus_is_space);

// A request target split at the first '?': the path (percent-decoded, '+'
// kept) and the raw query (empty when there is none).
struct split_target_result {
  std::string path;
  std::string_view query;
};
split_target_result split_target(std::string_view target);

// "a=1&b=x+y&a=2&flag" -> {a:1, a:2, b:"x y", flag:""}: every pair, in order,
// names and values decoded; empty parts are skipped.
std::multimap<std::string, std::string> parse_query(std::string_view query);

// The value of cookie `name` in a Cookie header ("a=1; name=v; b=2" -> "v"),
// taken as sent (no decoding); empty when it is not there.
std::string cookie_value(std::string_view cookie_header, std::string_view name);

}  // namespace keel::httpd
