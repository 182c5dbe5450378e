#include "adapters/connectors/file_connector.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "adapters/connectors/csv_reader.hpp"
#include "storage/memory/content_hash.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/base/json_text.hpp"
#include "runtime/base/utf8.hpp"

namespace keel::connectors {

namespace {

constexpr const char* not_utf8_hint =
    "save the file as UTF-8 (Excel: \"CSV UTF-8\"), or set `encoding: windows-1252` on the connector for a "
    "Windows/latin1 export; then `keelctl connectors sync NAME --full`";

std::optional<double> as_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  return v;
}

class file_connector final : public connector {
 public:
  file_connector(file_source src, event_inbox& inbox, store& db) : src_(std::move(src)), inbox_(inbox), db_(db) {}
  const std::string& name() const override { return src_.name; }
  const char* kind() const override { return "files"; }
  result<connector_state> state() const override { return load_state(db_, src_.name, kind()); }

  result<sync_report> sync(bool full) override {
    report_ = {};
    pending_ = {};
    pending_cursor_.clear();
    auto forget = [](connector_state& st) {
      st.offset = 0;
      st.cursor.clear();
    };
    return run_sync_pass(db_, src_.name, kind(), full, state_, forget, [this](sync_report& out) {
      auto r = run();
      out = report_;
      return r;
    });
  }

 private:
  status run() {
    std::ifstream in(src_.path, std::ios::binary);
    if (!in) return error{errc::io, src_.name + ": cannot open " + src_.path};
    std::ostringstream buf;
    buf << in.rdbuf();
    std::string text = buf.str();
    if (text.size() > src_.max_file_bytes)
      return error{errc::payload_too_large, src_.name + ": " + src_.path + " is larger than max_file_bytes"};
    if (src_.windows_1252) text = utf8::from_windows_1252(text);
    if (state_.offset > text.size()) {  // replaced by a shorter file: start over
      state_.offset = 0;
      state_.cursor.clear();
    }
    if (src_.incremental != "offset") state_.offset = 0;
    pending_offset_ = state_.offset;
    return src_.format == "jsonl" ? read_jsonl(text) : read_csv(text);
  }

  status read_csv(const std::string& text) {
    csv_reader header_reader(text, 0, 1, src_.separator);
    auto header = header_reader.next();
    if (!header) return error{header.err().code, src_.name + ": " + header.err().message};
    if (!header.value()) return ok_v;  // empty file
    const auto columns = header.value()->fields;
    for (const auto& c : columns)
      if (!utf8::valid(c))
        return error{errc::bad_request, src_.name + ": the header line of " + src_.path + " is not UTF-8 text; " +
                                            not_utf8_hint};
    std::size_t start = std::max<std::size_t>(state_.offset, header.value()->end_offset);
    csv_reader reader(text, start, line_at(text, start), src_.separator);
    for (;;) {
      auto rec = reader.next();
      if (!rec) return error{rec.err().code, src_.name + ": " + rec.err().message};
      if (!rec.value()) break;
      const auto& row = *rec.value();
      nlohmann::json raw = nlohmann::json::object();
      std::string shape_error;
      for (std::size_t i = 0; i < columns.size() && i < row.fields.size(); ++i) {
        // Every string in an event is dumped (hashed, stored, shown): bytes
        // that are not UTF-8 are refused here, and kept repaired for the
        // dead-letter entry.
        if (auto bad = utf8::describe_invalid(row.fields[i]); !bad.empty()) {
          if (shape_error.empty())
            shape_error = src_.name + ": line " + std::to_string(row.line) + ", column '" + columns[i] +
                          "' is not UTF-8 text (" + bad + " of the value); " + not_utf8_hint;
          raw[columns[i]] = utf8::repaired(row.fields[i]);
        } else {
          raw[columns[i]] = row.fields[i];
        }
      }
      if (shape_error.empty() && row.fields.size() != columns.size())
        shape_error = src_.name + ": line " + std::to_string(row.line) + " has " + std::to_string(row.fields.size()) +
                      " fields, the header has " + std::to_string(columns.size());
      if (auto s = take(raw, shape_error, row.end_offset); !s) return s;
    }
    return flush();
  }

  status read_jsonl(const std::string& text) {
    std::size_t pos = state_.offset;
    std::size_t line = line_at(text, pos);
    while (pos < text.size()) {
      auto nl = text.find('\n', pos);
      bool last = nl == std::string::npos;
      std::string_view body(text.data() + pos, (last ? text.size() : nl) - pos);
      std::size_t end = last ? text.size() : nl + 1;
      if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
      if (body.find_first_not_of(" \t") != std::string_view::npos) {
        std::string why;
        auto raw = parse_json_text(body, &why);
        // A last line without its newline that does not parse is still
        // being written: leave it for the next sync.
        if (last && raw.is_discarded()) break;
        std::string shape_error;
        if (raw.is_discarded() || !raw.is_object()) {
          std::string what = " is not a JSON object";
          if (auto bad = utf8::describe_invalid(body); !bad.empty())
            what = " is not UTF-8 text (" + bad + "); " + not_utf8_hint;
          else if (why.rfind("nested", 0) == 0)
            what = " is " + why;
          shape_error = src_.name + ": line " + std::to_string(line) + what;
          raw = nlohmann::json{{"line", utf8::repaired(utf8::prefix(body, 4096))}};
        }
        if (auto s = take(raw, shape_error, end); !s) return s;
      } else {
        pending_offset_ = end;
      }
      pos = end;
      ++line;
    }
    return flush();
  }

  // Adds one record to the pending chunk; commits when the chunk is full.
  status take(const nlohmann::json& raw, const std::string& shape_error, std::size_t end_offset) {
    pending_offset_ = end_offset;
    ++pending_.records_in;
    if (!shape_error.empty()) {
      pending_.rejects.emplace_back(nlohmann::json{{"source", src_.name}, {"type", "unparsed"}, {"data", raw}},
                                    shape_error);
    } else {
      std::string cursor_value;
      if (src_.incremental == "cursor") {
        const auto* v = value_at_path(raw, src_.cursor_field);
        cursor_value = v == nullptr ? std::string() : v->is_string() ? v->get<std::string>() : v->dump();
        if (!cursor_value.empty() && !state_.cursor.empty() && compare_cursor(cursor_value, state_.cursor) < 0) {
          return maybe_flush();  // older than the stored cursor: seen in an earlier sync
        }
      }
      auto m = map_record(src_.mapping, src_.name, raw, unix_now_ms());
      if (m.event) {
        auto& e = *m.event;
        e["id"] = e["id"].get<std::string>() + ":" + memory::content_hash(raw.dump()).substr(0, 16);
        pending_.events.push_back(std::move(e));
        if (!cursor_value.empty() && (pending_cursor_.empty() || compare_cursor(cursor_value, pending_cursor_) > 0))
          pending_cursor_ = cursor_value;
      } else {
        pending_.rejects.emplace_back(std::move(m.raw_event), m.reject_reason);
      }
    }
    return maybe_flush();
  }

  status maybe_flush() { return pending_.records_in >= src_.batch ? flush() : status(ok_v); }

  status flush() {
    // Cursor mode reads each export whole (it is a new file every time):
    // only offset mode resumes at a byte position.
    if (src_.incremental == "offset") state_.offset = std::max<std::uint64_t>(pending_offset_, state_.offset);
    if (!pending_cursor_.empty() && (state_.cursor.empty() || compare_cursor(pending_cursor_, state_.cursor) > 0))
      state_.cursor = pending_cursor_;
    state_.status = "syncing";
    auto n = inbox_.commit(pending_, &state_, false);
    if (!n) return error{n.err().code, src_.name + ": " + n.err().message};
    report_.add(pending_.records_in, *n);
    pending_ = {};
    if (after_commit) after_commit(report_.commits);
    return ok_v;
  }

  static std::size_t line_at(const std::string& text, std::size_t offset) {
    std::size_t n = 1;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) n += text[i] == '\n';
    return n;
  }

  file_source src_;
  event_inbox& inbox_;
  store& db_;
  connector_state state_;
  sync_report report_;
  inbox_batch pending_;
  std::size_t pending_offset_ = 0;
  std::string pending_cursor_;
};

}  // namespace

int compare_cursor(const std::string& a, const std::string& b) {
  auto na = as_number(a), nb = as_number(b);
  if (na && nb) return *na < *nb ? -1 : *na > *nb ? 1 : 0;
  auto ta = parse_timestamp(a), tb = parse_timestamp(b);
  if (ta && tb) return *ta < *tb ? -1 : *ta > *tb ? 1 : 0;
  return a.compare(b) < 0 ? -1 : a.compare(b) > 0 ? 1 : 0;
}

std::unique_ptr<connector> make_file_connector(file_source src, event_inbox& inbox, store& db) {
  return std::make_unique<file_connector>(std::move(src), inbox, db);
}

}  // namespace keel::connectors
