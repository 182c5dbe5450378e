#include "runtime/fabric/fabric_messages.hpp"

#include "runtime/base/json_fields.hpp"
#include "runtime/fabric/protocol.hpp"

namespace keel::fabric {

namespace {

using nlohmann::json;

constexpr std::int64_t max_duration_ms = 7LL * 86'400'000;  // 7 days

error bad(std::string what) { return {errc::bad_request, std::move(what)}; }

bool nonempty_string(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() && !it->get_ref<const std::string&>().empty();
}

// A map of label -> value, both strings. `what` names it in errors.
result<std::map<std::string, std::string>> string_map(const json& j, const std::string& what) {
  if (!j.is_object()) return bad("\"" + what + "\" must be a map of label to value");
  std::map<std::string, std::string> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) return bad(what + " '" + it.key() + "' must be a string");
    out[it.key()] = it.value().get<std::string>();
  }
  return out;
}

}  // namespace

result<executor_record> parse_hello(const json& f) {
  if (!f.is_object()) return bad("hello refused: the body must be a map");
  auto protocol = int_field(f, "protocol", 0, 0, 255);
  if (protocol != proto::version)
    return error{errc::bad_version, "hello refused: executor speaks protocol " + std::to_string(protocol) +
                                        ", node speaks " + std::to_string(proto::version) + "; run matching versions"};
  executor_record rec;
  if (!nonempty_string(f, "executor_id")) return bad("hello refused: \"executor_id\" must be a non-empty string");
  rec.id = f["executor_id"].get<std::string>();
  rec.name = text_field(f, "name", rec.id);
  auto caps = f.find("caps");
  if (caps == f.end() || !caps->is_array()) return bad("hello refused: \"caps\" must be a list of action names");
  for (const auto& c : *caps) {
    if (!c.is_string()) return bad("hello refused: \"caps\" must be a list of action names");
    rec.caps.insert(c.get<std::string>());
  }
  // Actions it runs at once on its loop thread: optional (older executors
  // send none), and only those it offers at all.
  if (auto inl = f.find("inline"); inl != f.end()) {
    if (!inl->is_array()) return bad("hello refused: \"inline\" must be a list of action names");
    for (const auto& c : *inl) {
      if (!c.is_string()) return bad("hello refused: \"inline\" must be a list of action names");
      if (rec.caps.count(c.get<std::string>())) rec.inline_caps.insert(c.get<std::string>());
    }
  }
  if (auto labels = f.find("labels"); labels != f.end()) {
    auto m = string_map(*labels, "labels");
    if (!m) return bad("hello refused: " + m.err().message);
    rec.labels = std::move(*m);
  }
  auto conc = int_field(f, "concurrency", 0, 0, 1 << 20);
  if (conc < 1 || conc > 4096) return bad("hello refused: \"concurrency\" must be between 1 and 4096");
  rec.capacity = static_cast<int>(conc);
  rec.principal = text_field(f, "principal");
  rec.pid = int_field(f, "pid", 0, 0, INT64_MAX);
  rec.host = text_field(f, "host");
  rec.version = text_field(f, "version");
  return rec;
}

result<task_result> parse_task_result(const proto::frame_view& f) {
  auto id_v = f.find("task_id").as_uint();
  auto lease_v = f.find("lease").as_uint();
  if (!id_v || !lease_v) return bad("task_result needs \"task_id\" and \"lease\" as unsigned integers");
  task_result r;
  r.task_id = *id_v;
  r.lease = *lease_v;
  r.ok = f.find("ok").as_bool().value_or(false);
  r.duration_ms = f.find("duration_ms").as_number().value_or(0);
  if (r.ok) {
    r.value = f.find("result");
  } else {
    auto e = f.find("error");
    auto text = [&](std::string_view key) { return std::string(e.find(key).as_str().value_or(std::string_view())); };
    // An empty code or message would reach the caller as an error that says
    // nothing; the fuzzer found executors could send that.
    r.failure = error{text("code"), text("message")};
    if (r.failure.code.empty()) r.failure.code = errc::action_failed;
    if (r.failure.message.empty()) r.failure.message = "no message";
  }
  return r;
}

std::vector<std::uint64_t> parse_beats(const json& f, std::size_t max) {
  std::vector<std::uint64_t> out;
  if (!f.is_object()) return out;
  auto beats = f.find("beats");
  if (beats == f.end() || !beats->is_array()) return out;
  for (const auto& b : *beats)
    if (b.is_number_unsigned() && out.size() < max) out.push_back(b.get<std::uint64_t>());
  return out;
}

std::optional<std::set<std::uint64_t>> parse_held_leases(const json& f) {
  if (!f.is_object()) return std::nullopt;
  auto held = f.find("held");
  if (held == f.end() || !held->is_array()) return std::nullopt;
  std::set<std::uint64_t> out;
  for (const auto& l : *held)
    if (l.is_number_unsigned() && out.size() < 4096) out.insert(l.get<std::uint64_t>());
  return out;
}

namespace {

// An optional positive duration of at most 7 days, in milliseconds.
result<std::optional<std::chrono::milliseconds>> duration_ms(const msgpack_in::value& v, const char* key) {
  if (!v) return std::optional<std::chrono::milliseconds>();
  auto n = v.as_uint();
  if (!n || *n == 0 || *n > static_cast<std::uint64_t>(max_duration_ms))
    return bad(std::string("\"") + key + "\" must be a positive integer of at most 7 days (604800000)");
  return std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(static_cast<std::int64_t>(*n)));
}

}  // namespace

result<run_request> parse_run_request(const msgpack_in::value& args) {
  if (!args.is_map()) return bad("run needs args {\"action\": NAME, \"args\": {...}}");
  // One pass over the entries (a repeated key: the last one counts).
  msgpack_in::value action, action_args, on, timeout, start, key;
  args.each_entry([&](std::string_view k, msgpack_in::value v) {
    if (k == "action") action = v;
    else if (k == "args") action_args = v;
    else if (k == "on") on = v;
    else if (k == "timeout_ms") timeout = v;
    else if (k == "schedule_to_start_ms") start = v;
    else if (k == "idempotency_key") key = v;
  });
  auto name = action.as_str();
  if (!name || name->empty()) return bad("run needs \"action\" as a non-empty string");
  run_request r;
  r.action = std::string(*name);
  if (!action_args.is_nil() && !action_args.is_map()) return bad("run: \"args\" must be a map of the action's arguments");
  static constexpr char empty_map[] = "\x80";
  r.args = action_args.is_nil() ? msgpack_in::value(std::string_view(empty_map, 1)) : action_args;
  if (on) {
    auto m = string_map(on.to_json(), "on");
    if (!m) return m.err();
    r.selector = std::move(*m);
  }
  auto t = duration_ms(timeout, "timeout_ms");
  if (!t) return t.err();
  r.timeout = *t;
  auto s = duration_ms(start, "schedule_to_start_ms");
  if (!s) return s.err();
  r.schedule_to_start = *s;
  if (key) {
    auto text = key.as_str();
    if (!text || text->empty() || text->size() > 200)
      return bad("\"idempotency_key\" must be a non-empty string of at most 200 characters");
    r.idempotency_key = std::string(*text);
  }
  return r;
}

result<authorize_request> parse_authorize_request(const json& args) {
  if (!args.is_object()) return bad("executors.authorize needs args {\"name\": ..., \"public_key\": ...}");
  authorize_request r;
  if (!nonempty_string(args, "name")) return bad("executors.authorize needs \"name\" as a non-empty string");
  if (!nonempty_string(args, "public_key"))
    return bad("executors.authorize needs \"public_key\": the 40-character key `keel keygen` printed");
  r.name = args["name"].get<std::string>();
  r.public_key = args["public_key"].get<std::string>();
  r.role = text_field(args, "role", "executor");
  if (r.role != "executor" && r.role != "admin") return bad("\"role\" must be executor or admin, not '" + r.role + "'");
  if (auto caps = args.find("caps"); caps != args.end()) {
    if (!caps->is_array()) return bad("\"caps\" must be a list of action names");
    for (const auto& c : *caps) {
      if (!c.is_string()) return bad("\"caps\" must be a list of action names");
      r.caps.push_back(c.get<std::string>());
    }
  }
  if (auto labels = args.find("labels"); labels != args.end()) {
    auto m = string_map(*labels, "labels");
    if (!m) return m.err();
    r.labels = std::move(*m);
  }
  return r;
}

result<std::string> parse_name_request(const json& args, const char* op) {
  if (!args.is_object() || !nonempty_string(args, "name"))
    return bad(std::string(op) + " needs \"name\": an executor or key name (see `keelctl executors`)");
  return args["name"].get<std::string>();
}

}  // namespace keel::fabric
