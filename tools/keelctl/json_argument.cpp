#include "tools/keelctl/json_argument.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "runtime/base/json_text.hpp"
#include "runtime/base/utf8.hpp"

namespace keel::ctl {

namespace {

// The whole of stdin, or of the file at `path`.
result<std::string> read_source(const std::string& path) {
  if (path.empty()) {
    std::string text(std::istreambuf_iterator<char>(std::cin), {});
    if (std::cin.bad()) return error{errc::io, std::string("cannot read standard input: ") + std::strerror(errno)};
    return text;
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return error{errc::io, "it is a directory"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return error{errc::io, std::strerror(errno)};
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return error{errc::io, std::strerror(errno)};
  return text.str();
}

}  // namespace

result<nlohmann::json> parse_json_argument(const std::string& given, const json_argument_spec& spec) {
  const bool from_stdin = given == "-";
  const bool from_file = !from_stdin && given.size() > 1 && given[0] == '@';
  std::string why;
  // "FIELDS must be a JSON object; it is not valid JSON: ..." where only an object will do.
  const std::string is = spec.object_only ? " must be a JSON object; it is " : " is ";
  if (!from_stdin && !from_file) {
    auto v = parse_json_text(given, &why);
    if (v.is_discarded())
      return error{errc::bad_request, spec.name + is + why + "; quote it in single quotes, e.g. " + spec.example +
                                          " (or give @FILE, or - to read standard input)"};
    if (spec.object_only && !v.is_object())
      return error{errc::bad_request, spec.name + " must be a JSON object, e.g. " + spec.example};
    return v;
  }

  const std::string path = from_file ? given.substr(1) : std::string();
  const std::string source = from_file ? path : "standard input";
  const std::string where = spec.name + " from " + source;
  auto text = read_source(path);
  if (!text)
    return error{errc::bad_request, "cannot read " + path + " for " + spec.name + ": " + text.err().message +
                                        "; check the path (relative paths start in the current directory)"};
  if (auto bad = utf8::describe_invalid(*text); !bad.empty())
    return error{errc::bad_request, where + " is not UTF-8 text (" + bad + "); Keel keeps text as UTF-8: convert it first, e.g. " +
                                        "iconv -f latin1 -t utf-8 " + (from_file ? path : std::string("FILE")) + " > converted.json"};
  auto v = parse_json_text(*text, &why);
  if (v.is_discarded()) {
    if (json_depth(*text) > max_json_depth)
      return error{errc::bad_request, where + is + why + ", more than Keel accepts anywhere: flatten it"};
    return error{errc::bad_request, where + is + why + "; check it with `jq . " +
                                        (from_file ? path : std::string("FILE")) + "`"};
  }
  if (spec.object_only && !v.is_object())
    return error{errc::bad_request, where + " must be a JSON object (it is " + std::string(v.type_name()) + "), e.g. " + spec.example};
  return v;
}

}  // namespace keel::ctl
