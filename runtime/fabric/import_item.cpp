#include "runtime/fabric/import_item.hpp"

#include <string>

namespace keel::fabric {

status check_import_item(const nlohmann::json& item) {
  auto bad = [](std::string why) { return error{errc::bad_request, std::move(why)}; };
  if (!item.is_object()) return bad("an item is an object {\"text\": ...}, not " + std::string(item.type_name()));
  for (const auto& [k, v] : item.items()) {
    if (k == "text" || k == "about" || k == "kind" || k == "source") {
      if (!v.is_string()) return bad("\"" + k + "\" must be a string");
    } else if (k == "ttl_ms" || k == "created_ms") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0) return bad("\"" + k + "\" must be a whole number of ms, 0 or more");
    } else {
      return bad("unknown field \"" + k + "\" (known: text, about, kind, source, ttl_ms, created_ms)");
    }
  }
  if (!item.contains("text")) return bad("\"text\" is missing");
  const auto& text = item["text"].get_ref<const std::string&>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return bad("\"text\" is empty");
  if (text.size() > import_text_limit)
    return bad("\"text\" is " + std::to_string(text.size()) + " bytes, over the 64 KiB limit; split it");
  return ok_v;
}

}  // namespace keel::fabric
