// The files connector: imports a CRM export (CSV with a header row, or
// JSONL, one object per line) into normalized events.
//
//   - name: crm_csv
//     kind: files
//     path: data/crm.csv
//     format: csv                 # csv | jsonl
//     incremental: offset         # offset (bytes read so far; for files that grow)
//                                 # | cursor (each sync reads the whole export)
//     cursor_field: Updated At    # cursor mode: only records whose value is >= the stored cursor
//     batch: 500                  # records per commit
//     mapping: {type: crm.contact, id: Customer ID, occurred_at: "Updated At?", fields: {...}}
//
// Resumability: every `batch` records, the events, their dead letters and
// the state (byte offset just past the last record, cursor, counts) commit
// in one WriteBatch; a crash resumes at the last commit and the re-read
// records deduplicate by event id. The event id is "<record id>:<hash of
// the row>", so an unchanged row is a duplicate and an edited row (on a
// --full resync) is a new event. A file shorter than the stored offset was
// replaced: the import starts over from the beginning.
#pragma once

#include <memory>
#include <string>

#include "adapters/connectors/connector.hpp"
#include "adapters/connectors/event_inbox.hpp"
#include "adapters/connectors/record_mapping.hpp"

namespace keel::connectors {

struct file_source {
  std::string name;
  std::string path;
  std::string format = "csv";        // csv | jsonl
  std::string incremental = "offset";  // offset | cursor
  std::string cursor_field;          // cursor mode
  std::size_t batch = 500;
  char separator = ',';
  // encoding: windows-1252 (also latin1, iso-8859-1, cp1252): the file is
  // converted to UTF-8 as it is read, and offsets count the converted text.
  // The default, utf-8, refuses records that are not UTF-8 with the reason.
  bool windows_1252 = false;
  std::size_t max_file_bytes = std::size_t{1} << 30;
  record_mapping mapping;
};

std::unique_ptr<connector> make_file_connector(file_source src, event_inbox& inbox, store& db);

// Orders cursor values: both numbers -> numerically, both timestamps ->
// by time, else as strings. Negative, zero, positive like strcmp.
int compare_cursor(const std::string& a, const std::string& b);

}  // namespace keel::connectors
