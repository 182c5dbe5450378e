#include "runtime/control/redactor.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "runtime/base/crypto.hpp"

namespace keel::control {

redactor::~redactor() {
  for (auto& [name, value] : by_name_) wipe(value);
}

void redactor::learn(const std::string& name, const std::string& plaintext) {
  std::unique_lock g(mu_);
  auto it = by_name_.find(name);
  if (it != by_name_.end()) {
    wipe(it->second);
    by_name_.erase(it);
  }
  if (plaintext.size() >= min_length) by_name_[name] = plaintext;
}

void redactor::forget(const std::string& name) {
  std::unique_lock g(mu_);
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  wipe(it->second);
  by_name_.erase(it);
}

std::size_t redactor::size() const {
  std::shared_lock g(mu_);
  return by_name_.size();
}

// One left-to-right pass, trying longer secrets first at each position, so
// a replacement mark is never itself searched again.
std::string redactor::redact_locked(const std::string& text) const {
  if (by_name_.empty() || text.size() < min_length) return text;
  std::vector<const std::pair<const std::string, std::string>*> order;
  for (const auto& e : by_name_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->second.size() > b->second.size(); });
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::pair<const std::string, std::string>* hit = nullptr;
    for (const auto* e : order)
      if (text.compare(i, e->second.size(), e->second) == 0) {
        hit = e;
        break;
      }
    if (hit) {
      out += "[redacted:" + hit->first + "]";
      i += hit->second.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::string redactor::redact(const std::string& text) const {
  std::shared_lock g(mu_);
  return redact_locked(text);
}

nlohmann::json redactor::redact_json(const nlohmann::json& j) const {
  std::shared_lock g(mu_);
  if (by_name_.empty()) return j;
  std::function<nlohmann::json(const nlohmann::json&)> walk = [&](const nlohmann::json& v) -> nlohmann::json {
    if (v.is_string()) return redact_locked(v.get_ref<const std::string&>());
    if (v.is_array()) {
      auto out = nlohmann::json::array();
      for (const auto& e : v) out.push_back(walk(e));
      return out;
    }
    if (v.is_object()) {
      auto out = nlohmann::json::object();
      for (auto it = v.begin(); it != v.end(); ++it) out[redact_locked(it.key())] = walk(it.value());
      return out;
    }
    return v;
  };
  return walk(j);
}

bool redactor::contains_secret(const std::string& text) const {
  std::shared_lock g(mu_);
  for (const auto& [name, secret] : by_name_)
    if (text.find(secret) != std::string::npos) return true;
  return false;
}

}  // namespace keel::control
