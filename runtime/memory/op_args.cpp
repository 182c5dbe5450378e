// Reading the memory ops' arguments: see op_args.hpp.
#include "runtime/memory/op_args.hpp"

#include <cctype>

namespace keel::memory_op {

using nlohmann::json;

error bad(const std::string& why) { return error{errc::bad_request, why}; }

result<std::string> need_text(const json& args, const char* key, const char* what) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null())
    return bad(std::string("missing \"") + key + "\": " + what);
  if (!it->is_string() || it->get_ref<const std::string&>().empty())
    return bad(std::string("\"") + key + "\" must be a non-empty string: " + what);
  return it->get<std::string>();
}

result<std::string> opt_text(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::string();
  if (!it->is_string()) return bad(std::string("\"") + key + "\" must be a string, got " + it->type_name());
  return it->get<std::string>();
}

result<std::optional<std::int64_t>> opt_int(const json& args, const char* key, std::int64_t lo, std::int64_t hi) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer() || (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) ||
      it->get<std::int64_t>() < lo || it->get<std::int64_t>() > hi)
    return bad(std::string("\"") + key + "\" must be a whole number from " + std::to_string(lo) + " to " +
               std::to_string(hi) + ", got " + it->dump());
  return std::optional<std::int64_t>(it->get<std::int64_t>());
}

result<std::vector<std::string>> opt_list(const json& args, const char* key) {
  std::vector<std::string> out;
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return out;
  if (it->is_string()) return std::vector<std::string>{it->get<std::string>()};
  if (!it->is_array()) return bad(std::string("\"") + key + "\" must be a string or a list of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return bad(std::string("\"") + key + "\" must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

status known_type(memory_service& m, const std::string& type) {
  auto t = m.records().types()->require(type);
  if (!t) return error{t.err().code, t.err().message + " (entity types are declared under memory.entities in the node config)"};
  return ok_v;
}

result<record_ref> need_record(memory_service& m, const json& args) {
  auto type = need_text(args, "type", "the entity type, e.g. customer");
  if (!type) return type.err();
  auto id = need_text(args, "id", "the record id, e.g. c_42");
  if (!id) return id.err();
  if (auto s = known_type(m, *type); !s) return s.err();
  return record_ref{*type, *id};
}

std::string field_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace keel::memory_op
