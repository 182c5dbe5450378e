#include "runtime/memory/embeddings_answer.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace keel {

status read_embeddings(std::string_view body, std::size_t n, std::size_t dim, float* out) {
  auto bad = [](const std::string& what) { return error{errc::bad_request, what}; };
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("data") || !j["data"].is_array()) return bad("no \"data\" list in the JSON");
  const auto& data = j["data"];
  if (data.size() != n) return bad(std::to_string(data.size()) + " vectors for " + std::to_string(n) + " texts");
  std::vector<bool> seen(n, false);
  for (std::size_t i = 0; i < n; ++i) {
    const auto& d = data[i];
    if (!d.is_object() || !d.contains("embedding") || !d["embedding"].is_array())
      return bad("data[" + std::to_string(i) + "] has no embedding list");
    std::size_t at = i;
    if (auto idx = d.find("index"); idx != d.end()) {
      if (!idx->is_number_unsigned() || idx->get<std::size_t>() >= n)
        return bad("data[" + std::to_string(i) + "].index is out of range");
      at = idx->get<std::size_t>();
    }
    if (seen[at]) return bad("two vectors for text " + std::to_string(at));
    seen[at] = true;
    const auto& e = d["embedding"];
    if (e.size() != dim)
      return bad("vectors of " + std::to_string(e.size()) + " dimensions, but memory.embedder.dimensions is " +
                 std::to_string(dim) + " (set it to what the model returns)");
    double norm = 0;
    float* v = out + at * dim;
    for (std::size_t k = 0; k < dim; ++k) {
      if (!e[k].is_number()) return bad("a vector holds a value that is not a number");
      double x = e[k].get<double>();
      if (!std::isfinite(x) || std::abs(x) > 1e30) return bad("a vector holds a value that is not a finite float");
      v[k] = static_cast<float>(x);
      norm += x * x;
    }
    if (norm > 0) {
      const double len = std::sqrt(norm);
      for (std::size_t k = 0; k < dim; ++k) v[k] = static_cast<float>(v[k] / len);
    }
  }
  return ok_v;
}

}  // namespace keel
