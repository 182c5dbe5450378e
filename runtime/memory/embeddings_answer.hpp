// The body of an OpenAI-compatible /v1/embeddings answer, read into
// vectors: {"data": [{"index": i, "embedding": [floats]}, ...]}. Pure (no
// I/O), so the fuzzer compiles it in (tests/fuzz/embeddings_answer_fuzz.cpp).
#pragma once

#include <cstddef>
#include <string_view>

#include "runtime/base/error.hpp"

namespace keel {

// Writes `n` vectors of `dim` floats to `out`, each L2-normalised (a zero
// vector stays zero), in input order: by "index" when the entries carry
// one, else by position. Errors (bad_request) say what is wrong: not
// JSON, no "data" list, a count other than `n`, an index out of range or
// repeated, a vector of another length, a value that is not a finite
// number. On error `out` may be partly written.
status read_embeddings(std::string_view body, std::size_t n, std::size_t dim, float* out);

}  // namespace keel
