// Header fields, requests and responses of http_server.hpp: plain data,
// no socket.
#include <algorithm>

#include "runtime/http/http_server.hpp"
#include "runtime/http/http_text.hpp"

namespace keel::httpd {

void fields::add(std::string name, std::string value) {
  auto splits = [](const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; };
  if (splits(name) || splits(value)) return;
  items_.emplace_back(std::move(name), std::move(value));
}

void fields::set(std::string name, std::string value) {
  std::erase_if(items_, [&](const auto& f) { return iequals(f.first, name); });
  add(std::move(name), std::move(value));
}

std::string fields::get(std::string_view name) const {
  for (const auto& [n, v] : items_)
    if (iequals(n, name)) return v;
  return {};
}

bool fields::has(std::string_view name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& f) { return iequals(f.first, name); });
}

std::string request::param(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void response::set_content(std::string content, const std::string& content_type) {
  body = std::move(content);
  set_header("Content-Type", content_type);
}

void response::set_redirect(std::string to, int code) {
  status = code;
  set_header("Location", std::move(to));
}

}  // namespace keel::httpd
