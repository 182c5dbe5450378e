// Writes the seed corpora in tests/fuzz/corpus/<target>/: a few small valid
// frames of every kind and a few invalid ones, in the layout of
// fuzz_common.hpp ([version][type][body] concatenated). The generated files are
// committed; rerun after a protocol change:
//     tools/run_fuzzers.sh --seeds
// (or build this file with runtime/fabric/protocol.cpp, runtime/base/msgpack_in.cpp, runtime/base/msgpack_json.cpp,
// runtime/base/utf8.cpp, runtime/base/hex.cpp and runtime/base/trace_ids.cpp
// and run it with the corpus directory as its argument).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>

#include <msgpack.hpp>

#include "runtime/base/msgpack_json.hpp"
#include "runtime/fabric/bundle.hpp"
#include "runtime/fabric/protocol.hpp"

using namespace keel;
using proto::msg_type;
using json = nlohmann::json;
using packer = msgpack::packer<msgpack::sbuffer>;
namespace fs = std::filesystem;

namespace {

const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
const std::string span = "00f067aa0ba902b7";

std::string frame(msg_type t, const std::string& body, std::uint8_t version = proto::version) {
  std::string out;
  out.push_back(static_cast<char>(version));
  out.push_back(static_cast<char>(t));
  return out + body;
}

std::string body(const json& fields, std::uint64_t cid = 1, bool with_span = true) {
  proto::envelope env;
  env.cid = cid;
  env.trace = trace;
  if (with_span) env.span = span;
  env.fields = fields;
  return proto::encode_frame(env).substr(2);  // the body map alone
}

std::string msg(msg_type t, const json& fields, std::uint64_t cid = 1) { return frame(t, body(fields, cid)); }

// A valid header (cid, trace) and one more key "x" written by `value`.
template <class F>
std::string raw_x(F&& value) {
  msgpack::sbuffer buf;
  packer pk(buf);
  pk.pack_map(3);
  pk.pack(std::string("cid"));
  pk.pack(1u);
  pk.pack(std::string("trace"));
  pk.pack(trace);
  pk.pack(std::string("x"));
  value(pk);
  return frame(msg_type::request, std::string(buf.data(), buf.size()));
}

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream out(dir / (name + ".bin"), std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::cerr << "cannot write " << (dir / name).string() << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_seeds CORPUS_DIR   (writes CORPUS_DIR/<target>/ for every fuzz target)\n";
    return 2;
  }
  fs::path root = argv[1];
  auto frame_dir = root / "frame_fuzz";

  // --- frame_fuzz: one valid message per type, then the interesting refusals ---
  write(frame_dir, "error", msg(msg_type::error, {{"ok", false}, {"error", {{"code", "bad_frame"}, {"message", "m"}}}}));
  write(frame_dir, "response", msg(msg_type::response, {{"ok", true}, {"body", {{"pong", true}, {"n", -3}}}}));
  write(frame_dir, "hello",
        msg(msg_type::hello, {{"executor_id", "e1"}, {"name", "w"}, {"caps", {"echo"}}, {"labels", {{"zone", "a"}}},
                              {"concurrency", 2}, {"pid", 10}, {"host", "h"}, {"version", "0.1.0"}, {"protocol", proto::version}}));
  write(frame_dir, "welcome", msg(msg_type::welcome, {{"node_id", "n"}, {"heartbeat_ms", 1000}}));
  write(frame_dir, "heartbeat", msg(msg_type::heartbeat, {{"in_flight", 0}}));
  write(frame_dir, "task",
        msg(msg_type::task, {{"task_id", 5}, {"lease", 1}, {"action", "echo"}, {"args", {{"a", {1, 2.5, nullptr}}}},
                             {"attempt", 1}, {"deadline_ms", 30000}}));
  write(frame_dir, "task_result",
        msg(msg_type::task_result, {{"task_id", 5}, {"lease", 1}, {"ok", true}, {"result", {{"r", "x"}}},
                                    {"duration_ms", 1.25}}));
  write(frame_dir, "goodbye", msg(msg_type::goodbye, {{"final", true}}));
  write(frame_dir, "reregister", msg(msg_type::reregister, json::object()));
  write(frame_dir, "request_no_span", frame(msg_type::request, body({{"op", "ping"}}, 0, false)));
  write(frame_dir, "max_cid", msg(msg_type::request, {{"op", "ping"}}, ~std::uint64_t{0}));
  write(frame_dir, "scalars",
        raw_x([](packer& pk) {
          pk.pack_array(12);
          pk.pack_nil();
          pk.pack_true();
          pk.pack(-1);
          pk.pack(-129);
          pk.pack(~std::uint64_t{0});
          pk.pack(std::numeric_limits<std::int64_t>::min());
          pk.pack_float(0.5f);
          pk.pack_double(-0.25);
          pk.pack(std::string(40, 's'));
          pk.pack(std::string("h\xc3\xa9"));
          pk.pack_map(0);
          pk.pack_array(0);
        }));
  write(frame_dir, "nested_4", raw_x([](packer& pk) {
          for (int i = 0; i < 3; ++i) pk.pack_array(1);
          pk.pack_map(1);
          pk.pack(std::string("k"));
          pk.pack_nil();
        }));
  write(frame_dir, "nested_33", raw_x([](packer& pk) {
          for (int i = 0; i < 32; ++i) pk.pack_array(1);
          pk.pack_nil();
        }));
  write(frame_dir, "bad_version", frame(msg_type::request, body({{"op", "ping"}}), 1));
  write(frame_dir, "unknown_type", frame(static_cast<msg_type>(3), body({{"op", "ping"}})));
  {
    auto task = frame(msg_type::task, body({{"task_id", 7}, {"lease", 9}, {"action", "echo"}, {"args", {{"k", "v"}}}}));
    auto bundled = proto::bundle_frames({task, task, frame(msg_type::heartbeat, body({{"in_flight", 1}}))}, 1 << 20);
    write(frame_dir, "bundle", bundled.at(0));
    write(frame_dir, "bundle_cut", bundled.at(0).substr(0, bundled.at(0).size() - 4));
  }
  write(frame_dir, "short", std::string(1, '\x01'));
  write(frame_dir, "empty_body", frame(msg_type::request, ""));
  auto valid = body({{"op", "ping"}, {"args", {{"k", "v"}}}});
  write(frame_dir, "truncated", frame(msg_type::request, valid.substr(0, valid.size() - 3)));
  write(frame_dir, "trailing", frame(msg_type::request, valid + "\xc0"));
  write(frame_dir, "not_a_map", frame(msg_type::request, "\x93\x01\x02\x03"));
  write(frame_dir, "int_key", raw_x([](packer& pk) {
          pk.pack_map(1);
          pk.pack(7);
          pk.pack(8);
        }));
  write(frame_dir, "bin_value", raw_x([](packer& pk) {
          pk.pack_bin(2);
          pk.pack_bin_body("\x00\x01", 2);
        }));
  write(frame_dir, "ext_value", raw_x([](packer& pk) {
          pk.pack_ext(2, 9);
          pk.pack_ext_body("ab", 2);
        }));
  write(frame_dir, "big_array_header", raw_x([](packer& pk) { pk.pack_array(70000); }));
  write(frame_dir, "bad_trace", frame(msg_type::request, [] {
          msgpack::sbuffer buf;
          packer pk(buf);
          pk.pack_map(2);
          pk.pack(std::string("cid"));
          pk.pack(1);
          pk.pack(std::string("trace"));
          pk.pack(std::string(32, 'A'));
          return std::string(buf.data(), buf.size());
        }()));
  write(frame_dir, "negative_cid", frame(msg_type::request, [] {
          msgpack::sbuffer buf;
          packer pk(buf);
          pk.pack_map(2);
          pk.pack(std::string("cid"));
          pk.pack(-5);
          pk.pack(std::string("trace"));
          pk.pack(trace);
          return std::string(buf.data(), buf.size());
        }()));

  // --- requests a node understands, and near misses: the decoder must take all of them ---
  auto req = [&](const std::string& name, const json& fields) { write(frame_dir, "req_" + name, msg(msg_type::request, fields)); };
  req("ping", {{"op", "ping"}});
  req("status", {{"op", "status"}, {"args", json::object()}});
  req("agents", {{"op", "agents"}});
  req("executors", {{"op", "executors"}});
  req("send", {{"op", "send"}, {"args", {{"agent", "echo"}, {"message", {{"text", "hi"}, {"n", 1}}}}}});
  req("fault_crash", {{"op", "fault.crash"}, {"args", {{"agent", "echo"}}}});
  req("fault_crash_empty_agent", {{"op", "fault.crash"}, {"args", {{"agent", ""}}}});
  req("send_empty_agent", {{"op", "send"}, {"args", {{"agent", ""}, {"message", nullptr}}}});
  req("run", {{"op", "run"},
              {"args", {{"action", "echo"}, {"args", {{"x", 1}}}, {"on", {{"zone", "a"}}}, {"timeout_ms", 1500}}}});
  req("run_minimal", {{"op", "run"}, {"args", {{"action", "sleep"}}}});
  req("run_no_args", {{"op", "run"}});
  req("run_bad_on", {{"op", "run"}, {"args", {{"action", "echo"}, {"on", {{"zone", 5}}}}}});
  req("run_bad_timeout", {{"op", "run"}, {"args", {{"action", "echo"}, {"timeout_ms", -1}}}});
  req("run_workflow", {{"op", "run-workflow"},
                       {"args", {{"workflow", "deploy"}, {"input", {{"env", "prod"}}}, {"idempotency_key", "k1"},
                                 {"by", "alice"}, {"wait", false}}}});
  req("run_workflow_minimal", {{"op", "run-workflow"}, {"args", {{"workflow", "w"}}}});
  req("workflows", {{"op", "workflows"}});
  req("tasks", {{"op", "tasks"}, {"args", {{"limit", 10}, {"state", "running"}}}});
  req("approve", {{"op", "approve"}, {"args", {{"id", "i-1"}, {"comment", "ok"}, {"by", "bob"}}}});
  req("retry", {{"op", "retry"}, {"args", {{"id", "i-1"}, {"from", "build"}}}});
  req("history", {{"op", "history"}, {"args", {{"id", "i-1"}}}});
  req("op_not_string", {{"op", 42}});
  req("no_op", {{"args", {{"agent", "x"}}}});
  req("unknown_op", {{"op", "reboot"}, {"args", nullptr}});
  req("args_array", {{"op", "send"}, {"args", {1, 2}}});
  write(frame_dir, "req_hello_not_request",
        msg(msg_type::hello, {{"executor_id", "e1"}, {"caps", {"echo"}}, {"concurrency", 1}, {"protocol", 1}}));

  std::cout << "seeds written under " << root.string() << "\n";

  // --- fabric targets: valid messages and the refusals each parser names ---
  auto hello_dir = root / "registration_fuzz";
  json hello = {{"executor_id", "e1"}, {"name", "db1"}, {"caps", {"echo", "sql"}}, {"labels", {{"site", "db1"}}},
                {"concurrency", 8}, {"pid", 10}, {"host", "h"}, {"version", "0.1.0"}, {"protocol", proto::version}};
  write(hello_dir, "valid", msg(msg_type::hello, hello));
  auto hello_with = [&](const std::string& name, const std::string& key, const json& v) {
    auto h = hello;
    if (v.is_discarded()) h.erase(key);
    else h[key] = v;
    write(hello_dir, name, msg(msg_type::hello, h));
  };
  hello_with("other_protocol", "protocol", 2);
  hello_with("no_id", "executor_id", json(json::value_t::discarded));
  hello_with("caps_not_list", "caps", "echo");
  hello_with("caps_mixed", "caps", {"echo", 5});
  hello_with("label_not_string", "labels", {{"site", 1}});
  hello_with("zero_concurrency", "concurrency", 0);
  hello_with("huge_concurrency", "concurrency", 1 << 30);

  auto result_dir = root / "task_result_fuzz";
  write(result_dir, "ok", msg(msg_type::task_result, {{"task_id", 5}, {"lease", 1}, {"ok", true}, {"result", {{"r", "x"}}}, {"duration_ms", 1.25}}));
  write(result_dir, "failed", msg(msg_type::task_result, {{"task_id", 5}, {"lease", 1}, {"ok", false}, {"error", {{"code", "action_failed"}, {"message", "m"}}}}));
  write(result_dir, "error_not_map", msg(msg_type::task_result, {{"task_id", 5}, {"lease", 1}, {"ok", false}, {"error", "boom"}}));
  write(result_dir, "no_lease", msg(msg_type::task_result, {{"task_id", 5}, {"ok", true}}));
  write(result_dir, "negative_id", msg(msg_type::task_result, {{"task_id", -5}, {"lease", 1}, {"ok", true}}));
  write(result_dir, "beats", msg(msg_type::task_result, {{"task_id", 5}, {"lease", 1}, {"beats", {1, 2, "x", -1, 3}}}));

  auto admin_dir = root / "admin_request_fuzz";
  auto admin = [&](const std::string& name, const std::string& op, const json& args) {
    write(admin_dir, name, msg(msg_type::request, {{"op", op}, {"args", args}}));
  };
  admin("run", "run", {{"action", "echo"}, {"args", {{"text", "hi"}}}});
  admin("run_full", "run", {{"action", "file.append"}, {"args", {{"file", "a"}, {"line", "b"}}}, {"on", {{"site", "db1"}}},
                           {"timeout_ms", 30000}, {"schedule_to_start_ms", 1000}, {"idempotency_key", "k-1"}});
  admin("run_no_action", "run", {{"args", json::object()}});
  admin("run_args_list", "run", {{"action", "echo"}, {"args", {1, 2}}});
  admin("run_bad_selector", "run", {{"action", "echo"}, {"on", {{"site", 1}}}});
  admin("run_timeout_float", "run", {{"action", "echo"}, {"timeout_ms", 1.5}});
  admin("run_timeout_huge", "run", {{"action", "echo"}, {"timeout_ms", 1LL << 62}});
  admin("run_key_long", "run", {{"action", "echo"}, {"idempotency_key", std::string(300, 'k')}});
  admin("authorize", "executors.authorize", {{"name", "db1"}, {"public_key", std::string(40, 'a')}, {"caps", {"sql"}}, {"labels", {{"site", "db1"}}}});
  admin("authorize_admin", "executors.authorize", {{"name", "ops"}, {"public_key", std::string(40, 'b')}, {"role", "admin"}});
  admin("authorize_bad_role", "executors.authorize", {{"name", "ops"}, {"public_key", std::string(40, 'b')}, {"role", "root"}});
  admin("drain", "executors.drain", {{"name", "db1"}});
  admin("revoke_no_name", "executors.revoke", json::object());
  return 0;
}
