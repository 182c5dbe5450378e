#include "adapters/connectors/csv_reader.hpp"

namespace keel::connectors {

namespace {
constexpr std::size_t max_field = 1 << 20;
}

csv_reader::csv_reader(std::string_view text, std::size_t offset, std::size_t first_line, char separator)
    : text_(text), pos_(offset), line_(first_line), sep_(separator) {
  if (pos_ == 0 && text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  if (pos_ > text_.size()) pos_ = text_.size();
}

result<std::optional<csv_record>> csv_reader::next() {
  // Skip blank lines.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++line_;
    ++pos_;
  }
  if (pos_ >= text_.size()) return std::optional<csv_record>();
  csv_record rec;
  rec.line = line_;
  std::size_t p = pos_, lines = 0;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (;;) {
    if (p >= text_.size()) {
      if (quoted) return error{errc::bad_request, "line " + std::to_string(rec.line) + ": a quoted field is never closed"};
      rec.fields.push_back(std::move(field));
      break;
    }
    char c = text_[p];
    if (quoted) {
      if (c == '"') {
        if (p + 1 < text_.size() && text_[p + 1] == '"') {
          field += '"';
          p += 2;
          continue;
        }
        quoted = false;
        ++p;
        continue;
      }
      if (c == '\n') ++lines;
      field += c;
      ++p;
    } else if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
      ++p;
    } else if (c == sep_) {
      rec.fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
      ++p;
    } else if (c == '\n' || c == '\r') {
      rec.fields.push_back(std::move(field));
      if (c == '\r' && p + 1 < text_.size() && text_[p + 1] == '\n') ++p;
      ++p;
      ++lines;
      break;
    } else {
      field += c;  // a stray quote inside an unquoted field is kept literally
      ++p;
    }
    if (field.size() > max_field)
      return error{errc::bad_request, "line " + std::to_string(rec.line) + ": a field is longer than 1 MiB"};
  }
  rec.end_offset = p;
  pos_ = p;
  line_ += lines;
  return std::optional<csv_record>(std::move(rec));
}

}  // namespace keel::connectors
