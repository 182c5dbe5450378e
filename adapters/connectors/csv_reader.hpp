// An RFC 4180 CSV reader over a buffer: quoted fields with "" escapes,
// separators and line breaks inside quotes, CRLF or LF line ends, a UTF-8
// BOM at the start, blank lines skipped. Each record reports the byte offset
// just past it, which the files connector stores as its resume point, so a
// resumed import starts exactly at a record boundary. Pure (the fuzz target
// drives it); never throws.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/base/error.hpp"

namespace keel::connectors {

struct csv_record {
  std::vector<std::string> fields;
  std::size_t line = 0;        // 1-based line where the record starts
  std::size_t end_offset = 0;  // byte offset just past its line end
};

class csv_reader {
 public:
  // `text` must outlive the reader; parsing starts at `offset`, counting
  // lines from `first_line`.
  explicit csv_reader(std::string_view text, std::size_t offset = 0, std::size_t first_line = 1, char separator = ',');

  // The next record, nullopt at the end of the buffer. Errors (bad_request):
  // a quoted field still open at the end of the buffer (naming its line), or
  // a field over 1 MiB. After an error the reader stays at the failed record.
  result<std::optional<csv_record>> next();
  std::size_t offset() const { return pos_; }

 private:
  std::string_view text_;
  std::size_t pos_;
  std::size_t line_;
  char sep_;
};

}  // namespace keel::connectors
