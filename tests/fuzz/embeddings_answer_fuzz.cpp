// libFuzzer target for what a node reads from an embedding server's answer
// (runtime/memory/embeddings_answer.hpp): any bytes as the body, the first
// two bytes choosing how many vectors and of what length were asked for.
// Checked: nothing throws; an answer that is accepted gives finite vectors,
// each of length 1 or all zero; a refusal says why. The reader is pure and
// compiled in here.
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/memory/embeddings_answer.cpp"
#include "tests/fuzz/fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t n = data[0] % 5, dim = 1 + data[1] % 8;
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  std::vector<float> out(n * dim, 0.0f);
  auto st = keel::read_embeddings(body, n, dim, out.data());
  if (!st) {
    if (st.err().code != keel::errc::bad_request || st.err().message.empty()) keel::fuzz::fail_input("a refusal that says nothing", body.size());
    return 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    double norm = 0;
    for (std::size_t k = 0; k < dim; ++k) {
      if (!std::isfinite(out[i * dim + k])) keel::fuzz::fail_input("a vector value that is not finite", body.size());
      norm += static_cast<double>(out[i * dim + k]) * out[i * dim + k];
    }
    if (norm != 0 && std::abs(norm - 1.0) > 1e-3) keel::fuzz::fail_input("an accepted vector that is not of length 1", body.size());
  }
  return 0;
}
