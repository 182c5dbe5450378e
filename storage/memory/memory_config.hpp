// The memory config file: entity types (schema), canonicalization mappings
// from connector events to records, and pruning policies. One YAML document:
//
//   entities:
//     customer:
//       fields: {email: string, name: string, plan: string, mrr: number, stripe_id: string}
//       identity: [email, stripe_id]            # match order for identity resolution
//       merge: {plan: {rule: source_priority, priority: [stripe, crm]}}   # default latest_wins
//   mappings:
//     - source: stripe
//       event: [customer.created, customer.updated]
//       entity: customer
//       fields:
//         email: {from: data.object.email, convert: lower}
//         mrr: {from: data.object.mrr_cents, convert: cents}
//         stripe_id: data.object.id             # shorthand: a path, no conversion
//       note: "Payment problem: {{ data.object.customer_email }}"   # optional, see mapping::note
//   pruning:
//     memory: {note: {ttl: 90d, max_items: 10000}}
//     records: {customer: {keep_versions: 20}}
//
// Parsing is strict: unknown keys, unknown types or conversions, a mapping
// to an undeclared entity or field are errors naming origin:line. It reads
// through the one config reader (runtime/base/yaml_reader.hpp): durations
// (ttl, checkpoint_every, prune_every) are parse_duration's grammar.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/base/error.hpp"
#include "storage/memory/schema.hpp"

namespace keel::memory {

// How a source value becomes a canonical one (before the schema type check).
enum class conversion { none, string, integer, number, boolean, timestamp, lower, trim, cents };
std::optional<conversion> parse_conversion(const std::string& s);
const char* to_string(conversion c);

struct field_map {
  std::string canonical;          // field of the entity type
  std::string from;               // dotted path into the event: data.object.email, items.0.id
  conversion convert = conversion::none;
  int line = 0;                   // where it was declared (for DLQ reasons)
};

struct mapping {
  std::string source;
  std::vector<std::string> events;  // event types; "*" matches any
  std::string entity;
  std::vector<field_map> fields;
  // A memory item written once per event this mapping takes (kind `event`,
  // about the record): text with {{ path }} over the event and
  // {{ record.FIELD }} over the mapped fields. Empty: no item. This is what
  // makes events findable by `keelctl memory search`.
  std::string note;
  int line = 0;
};

struct kind_policy {
  std::optional<std::int64_t> ttl_ms;     // items older than this are removed
  std::optional<std::size_t> max_items;   // keep only the newest N of the kind
};

struct prune_policies {
  std::map<std::string, kind_policy> memory;        // per memory kind
  std::map<std::string, std::size_t> keep_versions; // per entity type
};

// memory.embedder: vectors from an OpenAI-compatible /v1/embeddings server
// instead of the hashing embedder.
struct remote_embedder_settings {
  std::string base_url;      // http(s)://host:port[/v1]
  std::string model;
  std::size_t dimensions = 0;  // what the model returns
  std::string api_key;       // "secret://NAME" (the vault), or "" for none
  std::string ca_file;       // https: PEM certificates trusted beside the system's (absolute path)
  std::size_t batch = 64;    // texts per request
  int concurrency = 2;       // requests in flight
  int retries = 2;
  std::int64_t timeout_ms = 30'000;
};

// How a node runs its memory (only in the node config's `memory:` section).
struct memory_service_settings {
  std::size_t dimension = 256;              // the hashing embedder's dimension
  std::int64_t checkpoint_every_ms = 60'000; // index file checkpoint interval
  std::int64_t prune_every_ms = 3'600'000;   // the pruning job's interval
  bool sync = false;                         // fsync every memory write
  std::string synonyms = "/usr/share/wordnet"; // WordNet's data dir for keyword synonyms; "" (off) for none
  // Glossaries for keyword search, read at start in this order: "builtin"
  // (config/glossary.txt, compiled in) and absolute paths; empty (off) for none.
  std::vector<std::string> glossary{"builtin"};
  std::optional<remote_embedder_settings> embedder;  // none: the hashing embedder
};

struct memory_config {
  std::shared_ptr<const schema> entities = std::make_shared<schema>();
  std::vector<mapping> mappings;
  prune_policies pruning;
  memory_service_settings service;

  // The first mapping for (source, event type), exact event before "*".
  const mapping* find(const std::string& source, const std::string& event_type) const;
};

// Errors: config, "ORIGIN:LINE: PATH: what is wrong; what to do".
result<memory_config> parse_memory_config(const std::string& yaml_text, const std::string& origin);
result<memory_config> load_memory_config(const std::string& path);
// The `memory:` section of a node config (the whole node YAML text): the
// same keys plus dimension, checkpoint_every, prune_every and sync. A
// config without the section gives an empty memory config (no entities).
// Line numbers in errors are the node config's.
result<memory_config> parse_memory_section(const std::string& node_yaml_text, const std::string& origin);

}  // namespace keel::memory
