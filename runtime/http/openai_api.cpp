#include "runtime/http/openai_api.hpp"

namespace keel::http {

std::string openai_url(std::string_view base_url, std::string_view endpoint) {
  std::string url(base_url.substr(0, base_url.find_first_of("?#")));
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() < 3 || url.compare(url.size() - 3, 3, "/v1") != 0) url += "/v1";
  return url + "/" + std::string(endpoint);
}

header_list openai_headers(const std::string& api_key) {
  header_list h;
  if (!api_key.empty()) h.emplace_back("Authorization", "Bearer " + api_key);
  h.emplace_back("Content-Type", "application/json");
  return h;
}

}  // namespace keel::http
