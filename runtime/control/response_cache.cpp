#include "runtime/control/response_cache.hpp"

#include "runtime/base/crypto.hpp"

namespace keel::control {

std::string response_cache::key_for(const std::string& provider, const model_call& call) {
  nlohmann::json msgs = nlohmann::json::array();
  for (const auto& m : call.messages) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : m.tool_calls) calls.push_back({c.id, c.name, c.arguments});
    msgs.push_back({m.role, m.content, calls, m.tool_call_id});
  }
  nlohmann::json tools = nlohmann::json::array();
  for (const auto& t : call.tools) tools.push_back({t.name, t.description, t.parameters});
  nlohmann::json k = {provider,          call.model,       call.template_name, msgs,
                      call.context,      call.json_schema, call.schema_name,   call.use_tools,
                      call.max_tokens,   tools};
  return sha256_hex(k.dump());
}

void response_cache::erase(std::map<std::string, entry>::iterator it) {
  oldest_first_.erase(it->second.age);
  entries_.erase(it);
}

std::optional<attempt_result> response_cache::get(const std::string& key) {
  if (max_ == 0 || ttl_.count() <= 0) return std::nullopt;
  std::lock_guard g(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  if (clock::now() - it->second.stored >= ttl_) {
    erase(it);
    return std::nullopt;
  }
  return it->second.value;
}

void response_cache::put(const std::string& key, const attempt_result& value) {
  if (max_ == 0 || ttl_.count() <= 0) return;
  std::lock_guard g(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) erase(it);
  oldest_first_.push_back(key);
  entries_.emplace(key, entry{value, clock::now(), std::prev(oldest_first_.end())});
  while (entries_.size() > max_) erase(entries_.find(oldest_first_.front()));
}

std::size_t response_cache::size() const {
  std::lock_guard g(mu_);
  return entries_.size();
}

}  // namespace keel::control
