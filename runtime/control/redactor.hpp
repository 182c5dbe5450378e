// Redaction of secret values from anything that leaves the process or is
// stored for people to read: logs, spans, audit entries, error messages and
// keelctl's --json output. The vault registers every secret it holds; any
// occurrence of a plaintext is replaced by "[redacted:NAME]".
//
// Matching is exact and byte-wise (no decoding: a base64- or URL-encoded
// copy of a secret is not recognised). Longer secrets are replaced first, so
// a secret that contains another is named by itself. Values shorter than
// min_length are not registered: they would redact ordinary words.
//
// Thread-safety: safe for concurrent use (a shared mutex guards the table).
#pragma once

#include <cstddef>
#include <map>
#include <shared_mutex>
#include <string>

#include <nlohmann/json.hpp>

namespace keel::control {

class redactor {
 public:
  static constexpr std::size_t min_length = 4;

  redactor() = default;
  ~redactor();  // wipes the plaintexts it holds
  redactor(const redactor&) = delete;
  redactor& operator=(const redactor&) = delete;

  // Registers (or replaces) the value known as `name`; forget() drops it.
  void learn(const std::string& name, const std::string& plaintext);
  void forget(const std::string& name);
  std::size_t size() const;

  // A copy of `text` with every registered plaintext replaced.
  std::string redact(const std::string& text) const;
  // Redacts every string in `j`, object keys included.
  nlohmann::json redact_json(const nlohmann::json& j) const;
  // True when `text` contains any registered plaintext.
  bool contains_secret(const std::string& text) const;

 private:
  std::string redact_locked(const std::string& text) const;

  mutable std::shared_mutex mu_;
  std::map<std::string, std::string> by_name_;  // name -> plaintext
};

}  // namespace keel::control
