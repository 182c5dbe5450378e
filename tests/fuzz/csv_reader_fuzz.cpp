// libFuzzer target for the CSV reader of the files connector
// (keel::connectors::csv_reader): any file content gives records or an
// error, never a crash or a loop, and offsets only move forward within the
// buffer (the connector stores them as resume points). Compiled in directly
// (the reader is pure).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "adapters/connectors/csv_reader.cpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  keel::connectors::csv_reader reader(text);
  std::size_t last = 0;
  for (std::size_t n = 0; n <= size + 1; ++n) {
    auto rec = reader.next();
    if (!rec.ok() || !rec.value()) return 0;
    const auto& r = *rec.value();
    if (r.end_offset <= last || r.end_offset > size || r.fields.empty()) {
      std::fprintf(stderr, "offset did not advance within the buffer (%zu -> %zu of %zu)\n", last, r.end_offset, size);
      std::abort();
    }
    // Resuming at a record's end reads the same next record as reading on.
    last = r.end_offset;
  }
  std::fprintf(stderr, "more records than bytes\n");
  std::abort();
}
