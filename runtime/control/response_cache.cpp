#include "runtime/control/response_cache.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>

#include "runtime/base/crypto.hpp"
#include "runtime/base/json_text.hpp"

namespace keel::control {

namespace {

// Each piece goes in behind its length, so no two different calls feed the
// hash the same bytes (a field's end cannot pass for the next one's start).
// The pieces are gathered and hashed at once: a call has dozens of short
// ones, and one digest of a buffer costs less than a hash update each.
class key_hash {
 public:
  key_hash& text(std::string_view v) {
    length(v.size());
    buf_.append(v);
    return *this;
  }
  key_hash& number(std::int64_t v) { return text(std::to_string(v)); }
  key_hash& json(const nlohmann::json& v) {
    if (v.is_null()) return text({});
    auto at = buf_.size();
    length(0);
    append_json(buf_, v);  // the bytes of v.dump()
    std::uint64_t n = buf_.size() - at - sizeof n;
    std::memcpy(buf_.data() + at, &n, sizeof n);
    return *this;
  }
  std::string hex() const { return sha256_hex(buf_); }

 private:
  void length(std::uint64_t n) { buf_.append(reinterpret_cast<const char*>(&n), sizeof n); }
  std::string buf_;
};

}  // namespace

std::string response_cache::key_for(const std::string& provider, const model_call& call) {
  key_hash k;
  k.text(provider).text(call.model).text(call.template_name).number(static_cast<std::int64_t>(call.messages.size()));
  for (const auto& m : call.messages) {
    k.text(m.role).text(m.content).text(m.tool_call_id).number(static_cast<std::int64_t>(m.tool_calls.size()));
    for (const auto& c : m.tool_calls) k.text(c.id).text(c.name).text(c.arguments);
  }
  k.json(call.context).json(call.json_schema).text(call.schema_name).number(call.use_tools ? 1 : 0);
  k.number(call.max_tokens).number(static_cast<std::int64_t>(call.tools.size()));
  for (const auto& t : call.tools) k.text(t.name).text(t.description).json(t.parameters);
  return k.hex();
}

void response_cache::erase(std::unordered_map<std::string, entry>::iterator it) {
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
