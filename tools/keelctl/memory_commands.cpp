// keelctl records | memory | dlq: the argument checks a person benefits
// from before anything is sent (JSON, durations, times), one request each,
// and a table or a few lines for people (--json prints the node's answer).
// Errors say what to do next; the node's own errors are shown as they come.
#include "tools/keelctl/memory_commands.hpp"

#include <cstdio>
#include <set>

#include "runtime/base/duration.hpp"
#include "tools/keelctl/json_argument.hpp"
#include "tools/keelctl/memory_reembed.hpp"
#include "tools/keelctl/table.hpp"

namespace keel::ctl {

namespace {

using nlohmann::json;

std::string value_text(const json& v) { return v.is_null() ? "-" : v.is_string() ? v.get<std::string>() : ui::json_text(v); }

std::string ago(std::int64_t ms) { return ms ? format_ago(ms, unix_now_ms()) : "-"; }

// Sends one op and prints the answer with `human` unless --json.
template <class F>
int ask(const globals& g, const std::string& op, const json& args, F human) {
  auto r = call(g, op, args, g.timeout);
  if (!r) return report(g, r.err());
  if (g.json) return print_json(*r), exit_ok;
  human(*r);
  return exit_ok;
}

int usage(const globals& g, const std::string& why) { return report(g, {errc::bad_request, why}), exit_usage; }

// --- records ---

void print_record(const json& r) {
  const auto& rec = r["record"];
  ui::print(stdout, "%s %s  version %s  %s\n", ui::bold(cell_text(rec, "type")), ui::bold(cell_text(rec, "id")),
            cell_text(rec, "version"), ui::dim("hash " + cell_text(rec, "hash").substr(0, 12)));
  ui::print(stdout, "valid from %s (%s)%s, written by %s%s\n", cell_text(rec, "valid_from"), ago(rec.value("valid_from_ms", std::int64_t{0})),
            rec.contains("valid_to") ? " to " + cell_text(rec, "valid_to") : "", cell_text(rec, "source"),
            cell_text(rec, "event_id", "").empty() ? "" : ", event " + cell_text(rec, "event_id"));
  ui::table t({"FIELD", "VALUE", "SET BY"});
  t.width(1, 200);  // the record's detail view: values may be long
  auto fields = rec.value("fields", json::object());
  auto sources = rec.value("field_sources", json::object());
  for (auto it = fields.begin(); it != fields.end(); ++it)
    t.add({it.key(), value_text(it.value()), cell_text(sources, it.key().c_str(), cell_text(rec, "source"))});
  t.print(stdout, "  ");
}

std::string changes_text(const json& changes) {
  std::string out;
  for (const auto& c : changes) {
    auto f = cell_text(c, "field");
    std::string one = c["before"].is_null()   ? f + "=" + value_text(c["after"])
                      : c["after"].is_null() ? "-" + f
                                             : f + ": " + value_text(c["before"]) + " -> " + value_text(c["after"]);
    out += (out.empty() ? "" : ", ") + one;
  }
  return out.empty() ? "(no field changes)" : out;
}

// One row per record: its id, version, the sources that set its fields, and the fields.
void print_record_list(const json& r) {
  ui::table t({"ID", "VERSION", "SOURCES", "FIELDS"});
  t.width(3, 140);
  for (const auto& rec : r["records"]) {
    std::set<std::string> sources;
    const auto field_sources = rec.value("field_sources", json::object());  // items() must not outlive it
    const auto values = rec.value("fields", json::object());
    for (const auto& [f, s] : field_sources.items()) sources.insert(value_text(s));
    std::string from, fields;
    for (const auto& s : sources) from += (from.empty() ? "" : ",") + s;
    for (const auto& [f, v] : values.items()) fields += (fields.empty() ? "" : "  ") + f + "=" + value_text(v);
    t.add({cell_text(rec, "id"), cell_text(rec, "version"), from, fields});
  }
  if (t.empty()) ui::print(stdout, "%s\n", ui::dim("no " + cell_text(r, "type") + " records"));
  else t.print(stdout);
  if (r.value("more", false)) ui::print(stdout, "%s\n", ui::dim("(more: raise --limit)"));
}

// Search hits: like a listing, with the type first (a search may span types).
void print_search(const json& r) {
  ui::table t({"TYPE", "ID", "VERSION", "SOURCE", "FIELDS"});
  t.width(4, 120);
  for (const auto& rec : r["records"]) {
    std::string fields;
    const auto values = rec.value("fields", json::object());
    for (const auto& [f, v] : values.items()) fields += (fields.empty() ? "" : "  ") + f + "=" + value_text(v);
    t.add({cell_text(rec, "type"), cell_text(rec, "id"), cell_text(rec, "version"), cell_text(rec, "source"), fields});
  }
  if (t.empty()) ui::print(stdout, "%s\n", ui::dim("no record matches (" + cell_text(r, "scanned") + " searched)"));
  else t.print(stdout);
  if (r.value("more", false)) ui::print(stdout, "%s\n", ui::dim("(more: raise --limit or narrow the search)"));
}

void print_history(const json& r) {
  ui::table t({"VERSION", "VALID FROM", "WHEN", "SOURCE", "EVENT", "CHANGES"});
  t.width(5, 100);
  for (const auto& v : r["versions"])
    t.add({cell_text(v, "version"), cell_text(v, "valid_from"), ago(v.value("valid_from_ms", std::int64_t{0})), cell_text(v, "source"),
           cell_text(v, "event_id"), v.value("invalidated", false) ? ui::red("forgotten") : ui::styled{{}, changes_text(v["changes"])}});
  t.print(stdout);
}

// "label       value": the aligned lines of a forget or purge report.
void field_line(const char* label, const std::string& value) { ui::print(stdout, "%-12s %s\n", label, value); }

void print_forgotten(const json& r) {
  const auto type = cell_text(r, "type"), id = cell_text(r, "id");
  const auto at = r.value("forgotten_ms", std::int64_t{0});
  field_line("forgot", type + " " + id + " (version " + cell_text(r, "version") + " is its tombstone)");
  field_line("at", cell_text(r, "forgotten_at") + " (" + ago(at) + ")");
  field_line("history", "kept: keelctl records history " + type + " " + id);
  field_line("as it was", "keelctl records get " + type + " " + id + " --at " + cell_text(r, "before"));
  field_line("undo", "a later `keelctl records put " + type + " " + id + " ...` writes it again");
}

// Without --yes: what a purge would erase, from the record's history.
int refuse_purge(const globals& g, const std::string& type, const std::string& id) {
  auto h = call(g, "records.history", {{"type", type}, {"id", id}}, g.timeout);
  if (!h) return report(g, h.err());
  const auto& versions = (*h)["versions"];
  const json& newest = versions.empty() ? json::object() : versions.back();
  const std::string confirm = "keelctl records purge " + type + " " + id + " --yes";
  if (g.json) {
    print_json({{"ok", false},
                {"error", {{"code", errc::bad_request}, {"message", "purge is irreversible: add --yes; nothing was erased"}}},
                {"would_purge", {{"type", type}, {"id", id}, {"versions", versions.size()}, {"newest_version", newest.value("version", 0)},
                                 {"forgotten", newest.value("invalidated", false)}}},
                {"confirm", confirm}});
    return exit_usage;
  }
  std::fprintf(stderr, "keelctl: purge is irreversible and needs --yes; nothing was erased\n");
  field_line("would erase", type + " " + id + ": " + std::to_string(versions.size()) + " version(s), newest " +
                                cell_text(newest, "version") + " from " + cell_text(newest, "valid_from") +
                                (newest.value("invalidated", false) ? " (forgotten)" : ""));
  field_line("and", "its identity index entries and its memory summary; the audit trail keeps that it happened");
  field_line("keep history", "keelctl records forget " + type + " " + id + " (reversible, history kept)");
  field_line("confirm", confirm);
  return exit_usage;
}

void print_purged(const json& r) {
  field_line("purged", cell_text(r, "type") + " " + cell_text(r, "id"));
  field_line("versions", cell_text(r, "versions_removed") + " erased");
  field_line("summary", r.value("summary_removed", false) ? "removed from memory" : "none in memory");
  field_line("audit", "recorded as record_purge, without field values (keelctl audit tail)");
  if (auto w = cell_text(r, "warning", ""); !w.empty()) ui::print(stderr, "%s\n", ui::yellow("warning: " + w));
}

// --- memory ---

// Where a hit came from: its source, and the record version or event.
std::string provenance_text(const json& h) {
  std::string ref = cell_text(h, "record_ref", "");
  if (ref.empty()) ref = cell_text(h, "source_event", "");
  return cell_text(h, "source") + (ref.empty() ? "" : " (" + ref + ")");
}

void print_hits(const json& r, bool explain) {
  const auto& hits = r["hits"];
  for (const auto& w : r["warnings"]) ui::print(stderr, "%s\n", ui::yellow("warning: " + value_text(w)));
  if (hits.empty()) {
    ui::print(stdout, "%s\n", ui::dim("no matches among " + cell_text(r, "total_items") +
                                       " item(s); loosen the filters (--about, --kind, --since) or add memories with "
                                       "`keelctl memory add TEXT`"));
    return;
  }
  if (explain && r.contains("reading") && !r["reading"].empty()) {
    // How the question's words were read: what each weighs, and what may
    // stand in for it (glossary phrases, WordNet synonyms).
    ui::table words({"WORDS", "WEIGHT", "ALSO MATCHES"});
    words.width(2, 90);
    for (const auto& s : r["reading"]) {
      std::string also;
      std::size_t shown = 0;
      for (const auto& a : s["alternatives"]) {
        if (shown == 8) {
          also += ", +" + std::to_string(s["alternatives"].size() - shown) + " more";
          break;
        }
        also += (shown++ ? ", " : "") + a.get<std::string>();
      }
      char weight[16];
      std::snprintf(weight, sizeof weight, "%.0f%%", 100 * s.value("weight", 0.0));
      words.add({cell_text(s, "words"), weight, also.empty() ? "-" : also});
    }
    words.print(stdout);
    std::printf("\n");
  }
  std::vector<std::string> head{"ID", "SCORE", "KIND", "ABOUT", "AGE", "SOURCE", "TEXT"};
  if (explain) head.insert(head.end() - 1, {"KEYWORD", "VECTOR", "RECENCY"});
  ui::table t(head);
  t.width(head.size() - 1, 70);
  char buf[64];
  for (const auto& h : hits) {
    std::snprintf(buf, sizeof buf, "%.4f", h.value("score", 0.0));
    std::vector<ui::cell> row{cell_text(h, "id"), buf, cell_text(h, "kind"), cell_text(h, "about"),
                                 ago(h.value("created_ms", std::int64_t{0})), provenance_text(h)};
    if (explain) {
      const auto& e = h["explain"];
      // Rank, raw score, and (in brackets) what it adds before its weight.
      auto rank = [&](const char* r, const char* s, const char* share, const char* fmt) {
        if (e.value(r, 0) == 0) return std::string("-");
        std::snprintf(buf, sizeof buf, fmt, e.value(r, 0), e.value(s, 0.0), e.value(share, 0.0));
        return std::string(buf);
      };
      std::string keyword = rank("keyword_rank", "keyword_score", "keyword", "#%d %.2f (%.2f)");
      if (keyword == "-" && e.value("keyword", 0.0) > 0) {  // met only through the glossary or synonyms
        if (e.value("synonym_score", 0.0) > 0)
          std::snprintf(buf, sizeof buf, "alt %.2f (%.2f)", e.value("synonym_score", 0.0), e.value("keyword", 0.0));
        else  // a candidate of another list that holds an alternative too common to search for
          std::snprintf(buf, sizeof buf, "alt (%.2f)", e.value("keyword", 0.0));
        keyword = buf;
      }
      row.push_back(keyword);
      row.push_back(rank("vector_rank", "similarity", "vector", "#%d %.3f (%.2f)"));
      row.push_back(rank("recency_rank", "recency", "recency", "#%d (%.2f)"));
    }
    row.push_back(cell_text(h, "text"));
    t.add(row);
  }
  t.print(stdout);
}

void print_prune(const json& r) {
  bool dry = r.value("dry_run", false);
  std::size_t versions = 0;
  for (const auto& rec : r["records"]) versions += rec.value("removed", std::size_t{0});
  if (r["items"].empty() && versions == 0) {
    std::printf("nothing to prune: no item is past its ttl or over its kind's max_items, no record over keep_versions\n");
    return;
  }
  ui::print(stdout, "%s %zu memory item(s) and %zu old record version(s)%s\n", dry ? "would remove" : "removed", r["items"].size(),
            versions, dry ? ui::dim(" (dry run: nothing removed)") : ui::styled{});
  if (!r["items"].empty()) {
    ui::table t({"ID", "KIND", "WHY"});
    for (const auto& i : r["items"]) t.add({cell_text(i, "id"), cell_text(i, "kind"), cell_text(i, "why")});
    t.print(stdout, "  ");
  }
  if (versions) {
    ui::table t({"RECORD", "VERSIONS"});
    for (const auto& rec : r["records"]) t.add({cell_text(rec, "type") + " " + cell_text(rec, "id"), cell_text(rec, "removed")});
    t.print(stdout, "  ");
  }
}

void print_memory_status(const json& r) {
  const auto& o = r["opened"];
  const auto queued = r.value("vectors_pending", std::size_t{0});
  ui::print(stdout, "items         %s (index holds %s%s)\n", cell_text(r, "items"), cell_text(r, "index_items"),
            queued ? "; " + std::to_string(queued) + " vectors still going in" : std::string());
  const auto& e = r.value("embedding", json::object());
  const auto waiting = e.value("unembedded", std::size_t{0});
  const auto health = e.value("health", std::string("up"));
  std::string state = health == "up" ? std::string() : "; " + health;
  if (waiting) state += "; " + std::to_string(waiting) + " item(s) found by keywords only until the server embeds them";
  ui::print(stdout, "embedder      %s%s\n", cell_text(r, "embedder"), state);
  ui::print(stdout, "dead letters  %s\n", cell_text(r, "dead_letters"));
  std::string types;
  for (const auto& t : r.value("entity_types", json::array())) types += (types.empty() ? "" : ", ") + value_text(t);
  ui::print(stdout, "entity types  %s; %s mapping(s)\n", types.empty() ? "none (declare them under memory.entities)" : types,
            cell_text(r, "mappings"));
  std::string how = o.value("rebuilt", false) ? "rebuilt from LevelDB: " + cell_text(o, "why")
                    : o.value("index_loaded", false) ? "loaded, " + cell_text(o, "replayed") + " op(s) caught up"
                                                     : "new";
  ui::print(stdout, "index at open %s\n", how);
  ui::print(stdout, "checkpoint    %s; pruned %s\n", ago(r.value("last_checkpoint_ms", std::int64_t{0})),
            ago(r.value("last_prune_ms", std::int64_t{0})));
  const auto& re = r.value("reembed", json::object());
  if (re.value("state", "idle") != "idle")
    ui::print(stdout, "re-embed      %s, %s/%s item(s)%s\n", cell_text(re, "state"), cell_text(re, "done"), cell_text(re, "total"),
              cell_text(re, "error", "").empty() ? "" : ": " + cell_text(re, "error"));
}

// --- dead letters ---

void print_outcome(const json& o) {
  auto what = cell_text(o, "outcome");
  if (what == "dead_lettered") {
    ui::print(stdout, "%s (dead letter %s): %s\n", ui::red("still failing"), cell_text(o, "dead_letter_id"), cell_text(o, "reason"));
    return;
  }
  ui::print(stdout, "%s: %s %s version %s\n", ui::green(what), cell_text(o, "entity_type"), cell_text(o, "entity_id"),
            cell_text(o, "version"));
}

void print_dead_letters(const json& r) {
  const auto& list = r["dead_letters"];
  if (list.empty()) {
    ui::print(stdout, "%s\n", ui::dim("no dead letters: every event was mapped"));
    return;
  }
  ui::table t({"ID", "SOURCE", "TYPE", "EVENT", "ATTEMPTS", "LAST FAILED", "REASON"});
  t.width(6, 90);
  for (const auto& d : list)
    t.add({cell_text(d, "id"), cell_text(d, "source"), cell_text(d, "type"), cell_text(d, "event_id"), cell_text(d, "attempts"),
           ago(d.value("last_ms", std::int64_t{0})), cell_text(d, "reason")});
  t.print(stdout);
  if (r.value("total", std::size_t{0}) > list.size())
    ui::print(stdout, "%s\n", ui::dim("(" + cell_text(r, "total") + " in all; raise --limit to see more)"));
  ui::print(stdout, "%s\n", ui::dim("fix the mapping in the node config, restart the node, then `keelctl dlq replay --all`"));
}

void print_dead_letter(const json& r) {
  const auto& d = r["dead_letter"];
  ui::print(stdout, "%s %s  %s/%s event %s\n", ui::bold("dead letter"), cell_text(d, "id"), cell_text(d, "source"), cell_text(d, "type"),
            cell_text(d, "event_id"));
  ui::print(stdout, "reason    %s\n", cell_text(d, "reason"));
  ui::print(stdout, "attempts  %s (first %s, last %s)\n", cell_text(d, "attempts"), ago(d.value("first_ms", std::int64_t{0})),
            ago(d.value("last_ms", std::int64_t{0})));
  std::printf("event\n");
  ui::print_lines(stdout, ui::json_text(d["event"], 2));
}

}  // namespace

memory_cli::memory_cli(CLI::App& app) {
  auto* records = app.add_subcommand("records", "Canonical records: versioned entities (customer, invoice, ...)");
  records->require_subcommand(1);
  rec_put_ = records->add_subcommand("put", "Write fields of a record; a new version when anything changed");
  rec_put_->add_option("type", type_, "Entity type, e.g. customer")->required();
  rec_put_->add_option("id", id_, "Record id, e.g. c_42")->required();
  rec_put_->add_option("fields", fields_,
                       "Fields as a JSON object, e.g. '{\"plan\": \"pro\"}' (null removes a field); @FILE reads it from a file, - from stdin")
      ->required();
  rec_put_->add_option("--source", source_, "Who says so (default keelctl), e.g. crm");
  rec_put_->add_option("--expect-version", expect_version_, "Fail with a conflict unless the record is at this version (0: must not exist)");
  rec_put_->add_flag("--replace", replace_, "Replace all fields instead of patching the given ones");
  rec_get_ = records->add_subcommand("get", "A record now, or as it was known at a time");
  rec_get_->add_option("type", type_, "Entity type")->required();
  rec_get_->add_option("id", id_, "Record id")->required();
  rec_get_->add_option("--at", at_, "RFC 3339 time, e.g. 2026-11-01T00:00:00Z");
  rec_list_ = records->add_subcommand("list", "The current records of a type: id, version, sources, fields");
  rec_list_->add_option("type", type_, "Entity type, e.g. customer")->required();
  rec_list_->add_option("--limit", limit_, "At most this many (default 50)")->check(CLI::Range(1, 10000));
  rec_search_ = records->add_subcommand("search", "Find current records: id or any field contains TEXT, and/or --field F --value V");
  rec_search_->add_option("text", text_, "Text the id or any field value contains (case-insensitive)");
  rec_search_->add_option("--type", type_, "Only this entity type (default: every type)");
  rec_search_->add_option("--field", field_, "A field that must equal --value, e.g. email");
  rec_search_->add_option("--value", value_, "The value --field must equal (case-insensitive)");
  rec_search_->add_option("--limit", limit_, "At most this many (default 50)")->check(CLI::Range(1, 1000));
  rec_history_ = records->add_subcommand("history", "Every version of a record: what changed, from which source and event, when");
  rec_history_->add_option("type", type_, "Entity type")->required();
  rec_history_->add_option("id", id_, "Record id")->required();
  rec_forget_ = records->add_subcommand(
      "forget", "Forget a record: a tombstone version; get no longer finds it, history and get --at still do");
  rec_forget_->add_option("type", type_, "Entity type")->required();
  rec_forget_->add_option("id", id_, "Record id")->required();
  rec_forget_->add_option("--source", source_, "Who asks (default keelctl), shown in its history");
  rec_purge_ = records->add_subcommand(
      "purge", "IRREVERSIBLE: erase a record, every version and its memory summary (needs --yes; without it, shows what "
               "would go). The audit trail records the purge, not the values");
  rec_purge_->add_option("type", type_, "Entity type")->required();
  rec_purge_->add_option("id", id_, "Record id")->required();
  rec_purge_->add_flag("--yes", yes_, "Confirm: erase it for good (there is no undo)");

  auto* memory = app.add_subcommand("memory", "Vector memory: notes and facts, hybrid search with provenance");
  memory->require_subcommand(1);
  mem_add_ = memory->add_subcommand("add", "Remember a text");
  mem_add_->add_option("text", text_, "What to remember")->required();
  mem_add_->add_option("--about", about_, "The entity it is about, as type:id (e.g. customer:c_42)");
  mem_add_->add_option("--kind", kind_, "note (default), fact, ... (pruning policies are per kind)");
  mem_add_->add_option("--ttl", ttl_, "Forget it after this long, e.g. 90d, 12h");
  mem_add_->add_option("--source", source_, "Who says so (default keelctl)");
  mem_import_ = memory->add_subcommand("import", "Add many items from a JSON Lines file, with progress (safe to run again)");
  mem_import_->add_option("file", import_.file, "The file: one {\"text\": ..., \"about\"?, \"kind\"?, \"source\"?, "
                                                "\"ttl_ms\"?, \"created_ms\"?} or JSON string per line; - for standard input")
      ->required();
  mem_import_->add_option("--about", import_.about, "The entity for lines without \"about\" (type:id)");
  mem_import_->add_option("--kind", import_.kind, "The kind for lines without \"kind\" (default note)");
  mem_import_->add_option("--source", import_.source, "The source for lines without \"source\" (default import)");
  mem_import_->add_option("--batch", import_.batch, "Items per request to the node (default 500)")->check(CLI::Range(1, 1000));
  mem_search_ = memory->add_subcommand("search", "Hybrid search (keywords + vectors + recency); best first");
  mem_search_->add_option("query", text_, "What to look for")->required();
  mem_search_->add_option("--about", about_, "Only items about this entity (type:id)");
  mem_search_->add_option("--kind", kinds_, "Only items of this kind (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  mem_search_->add_option("--source", source_, "Only items from this source");
  mem_search_->add_option("--since", since_, "Only items newer than this: a duration (30d) or an RFC 3339 time");
  mem_search_->add_option("-k", k_, "How many hits (default 5)")->check(CLI::Range(1, 1000));
  mem_search_->add_option("--min-score", min_score_, "Drop hits with a lower fused score");
  mem_search_->add_option("--vector-floor", vector_floor_,
                          "Cosine at or below which a vector match counts for nothing (default 0.3, set for the hashing "
                          "embedder; a real embedding model may want 0.5)")
      ->check(CLI::Range(0.0, 0.999));
  mem_search_->add_flag("--explain", explain_, "Show how the question was read (each word's weight and the glossary phrases and synonyms that may stand in) and each hit's keyword, vector and recency ranks and scores");
  mem_forget_ = memory->add_subcommand("forget", "Remove a memory item");
  mem_forget_->add_option("id", number_, "Memory id (from search)")->required();
  mem_prune_ = memory->add_subcommand("prune", "Apply the pruning policies now and report what was removed");
  mem_prune_->add_flag("--dry-run", dry_run_, "Only report what would be removed");
  mem_status_ = memory->add_subcommand("status", "Items, index size, embedder, dead letters, how the index was opened");
  mem_reembed_ = memory->add_subcommand("reembed", "Re-embed every item with the node's embedder and rebuild the index, showing progress");
  mem_reembed_->add_flag("--no-wait", no_wait_,
                         "Only start it; follow it with `keelctl memory status` (without it, keelctl waits until the re-embed "
                         "ends, or for keelctl's --timeout when given)");

  auto* dlq = app.add_subcommand("dlq", "Dead letters: connector events the canonicalizer could not map");
  dlq->require_subcommand(1);
  dlq_list_ = dlq->add_subcommand("list", "Dead letters, oldest first, with the reason");
  dlq_list_->add_option("--limit", limit_, "At most this many (default 50)")->check(CLI::Range(1, 10000));
  dlq_show_ = dlq->add_subcommand("show", "One dead letter with its event");
  dlq_show_->add_option("id", number_, "Dead letter id (from dlq list)")->required();
  dlq_replay_ = dlq->add_subcommand("replay", "Map a dead letter again with the node's current config");
  dlq_replay_->add_option("id", number_, "Dead letter id (from dlq list)");
  dlq_replay_->add_flag("--all", all_, "Replay every dead letter");

  for (auto* sub : {records, rec_put_, rec_get_, rec_list_, rec_history_, rec_search_, rec_forget_, rec_purge_, memory, mem_add_, mem_import_, mem_search_,
                    mem_forget_, mem_prune_, mem_status_, mem_reembed_, dlq, dlq_list_, dlq_show_, dlq_replay_})
    sub->fallthrough();
}

std::optional<int> memory_cli::run(const globals& g) const {
  if (*rec_put_) {
    auto fields = parse_json_argument(fields_, {"FIELDS", "keelctl records put " + type_ + " " + id_ + " '{\"plan\": \"pro\"}'", true});
    if (!fields) return report(g, fields.err()), exit_usage;
    json args = {{"type", type_}, {"id", id_}, {"fields", std::move(*fields)}, {"replace", replace_}};
    if (!source_.empty()) args["source"] = source_;
    if (expect_version_ >= 0) args["expected_version"] = expect_version_;
    return ask(g, "records.put", args, [&](const json& r) {
      if (r.value("changed", false))
        ui::print(stdout, "%s %s is now at version %s\n", type_, id_, cell_text(r, "version"));
      else
        ui::print(stdout, "%s %s unchanged at version %s: it already has these values\n", type_, id_, cell_text(r, "version"));
    });
  }
  if (*rec_get_) {
    json args = {{"type", type_}, {"id", id_}};
    if (!at_.empty()) args["at"] = at_;  // the node parses it (RFC 3339 with offsets and fractions)
    return ask(g, "records.get", args, print_record);
  }
  if (*rec_list_) return ask(g, "records.list", {{"type", type_}, {"limit", limit_}}, print_record_list);
  if (*rec_history_) return ask(g, "records.history", {{"type", type_}, {"id", id_}}, print_history);
  if (*rec_forget_) {
    json args = {{"type", type_}, {"id", id_}};
    if (!source_.empty()) args["source"] = source_;
    return ask(g, "records.forget", args, print_forgotten);
  }
  if (*rec_purge_) {
    if (!yes_) return refuse_purge(g, type_, id_);
    return ask(g, "records.purge", {{"type", type_}, {"id", id_}}, print_purged);
  }
  if (*rec_search_) {
    if (field_.empty() != value_.empty())
      return usage(g, "--field and --value go together, e.g. keelctl records search --field email --value ana@example.com");
    if (text_.empty() && field_.empty())
      return usage(g, "say what to look for: keelctl records search ana, or --field email --value ana@example.com");
    json args = {{"limit", limit_}};
    if (!text_.empty()) args["text"] = text_;
    if (!type_.empty()) args["type"] = type_;
    if (!field_.empty()) args["field"] = field_, args["value"] = value_;
    return ask(g, "records.search", args, print_search);
  }

  if (*mem_add_) {
    json args = {{"text", text_}};
    if (!about_.empty()) args["about"] = about_;
    if (!kind_.empty()) args["kind"] = kind_;
    if (!source_.empty()) args["source"] = source_;
    if (!ttl_.empty()) {
      auto d = parse_duration(ttl_);
      if (!d || d->count() <= 0) return usage(g, "--ttl '" + ttl_ + "' is not a duration; write e.g. 90d, 12h, 30m");
      args["ttl_ms"] = d->count();
    }
    return ask(g, "memory.add", args, [](const json& r) {
      const auto& it = r["item"];
      std::string about = cell_text(it, "about", "");
      ui::print(stdout, "remembered #%s (%s%s)%s\n", cell_text(it, "id"), cell_text(it, "kind"), about.empty() ? "" : " about " + about,
                it.contains("expires_ms") ? ", forgotten after " + format_duration(std::chrono::milliseconds(it.value("ttl_ms", std::int64_t{0})))
                                          : "");
    });
  }
  if (*mem_import_) return cmd_memory_import(g, import_);
  if (*mem_search_) {
    json args = {{"query", text_}, {"k", k_}, {"explain", explain_}};
    if (!about_.empty()) args["about"] = about_;
    if (!kinds_.empty()) args["kinds"] = kinds_;
    if (!source_.empty()) args["sources"] = json::array({source_});
    if (min_score_ > 0) args["min_score"] = min_score_;
    if (vector_floor_ >= 0) args["vector_floor"] = vector_floor_;
    if (!since_.empty()) {
      if (auto d = parse_duration(since_); d && d->count() > 0) args["since_ms"] = unix_now_ms() - d->count();
      else if (auto t = parse_instant(since_)) args["since_ms"] = *t;
      else return usage(g, "--since '" + since_ + "' is neither a duration (30d, 12h) nor a time (2026-11-01T00:00:00Z)");
    }
    return ask(g, "memory.search", args, [&](const json& r) { print_hits(r, explain_); });
  }
  if (*mem_forget_)
    return ask(g, "memory.forget", {{"id", number_}}, [&](const json&) { std::printf("forgot #%llu\n", static_cast<unsigned long long>(number_)); });
  if (*mem_prune_) return ask(g, "memory.prune", {{"dry_run", dry_run_}}, print_prune);
  if (*mem_reembed_) return cmd_memory_reembed(g, !no_wait_);
  if (*mem_status_) return ask(g, "memory.status", json::object(), print_memory_status);

  if (*dlq_list_) return ask(g, "dlq.list", {{"limit", limit_}}, print_dead_letters);
  if (*dlq_show_) return ask(g, "dlq.show", {{"id", number_}}, print_dead_letter);
  if (*dlq_replay_) {
    if (all_ == (number_ != 0)) return usage(g, "name one dead letter (keelctl dlq replay ID) or pass --all");
    json args = all_ ? json{{"all", true}} : json{{"id", number_}};
    return ask(g, "dlq.replay", args, [&](const json& r) {
      if (all_) {
        ui::print(stdout, "replayed: %s applied, %s still failing%s\n", cell_text(r, "applied"), cell_text(r, "still_failing"),
                  r.value("still_failing", 0) ? " (see `keelctl dlq list` for the reasons)" : "");
        return;
      }
      print_outcome(r["outcome"]);
    });
  }
  return std::nullopt;
}

}  // namespace keel::ctl
