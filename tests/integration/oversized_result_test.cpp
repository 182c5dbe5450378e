// A result the node cannot read must not leak an executor's slot. An
// http.request answer under the executor's response cap can still make a
// result frame over the node's frame limit (an 800,000-byte PDF comes back
// as base64; a 1,048,400-byte text body plus the frame's own fields). The
// executor answers result_too_large instead of sending it; the node frees
// the lease of any result frame it refuses, and of any lease an executor
// no longer holds when it says hello on a new connection.
#include "tests/integration/node_fixture.hpp"
#include "tests/support/text_match.hpp"

#include <httplib.h>

#include <thread>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "runtime/fabric/protocol.hpp"

using namespace keel;
using namespace keel::test;

namespace {

// The files an operator's step might fetch, on a real HTTP server.
struct file_server {
  httplib::Server srv;
  std::thread thread;
  int port = 0;
  file_server() {
    srv.Get("/report.pdf", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(800000, '\x9c'), "application/pdf");
    });
    srv.Get("/export.txt", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1048400, 'x'), "text/plain");
    });
    port = srv.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { srv.listen_after_bind(); });
    BOOST_REQUIRE(wait_until([&] { return srv.is_running(); }, 5s));
  }
  ~file_server() {
    srv.stop();
    thread.join();
  }
};

int total_in_flight(test_node& c) {
  int n = 0;
  const auto listed = c.require("executors");  // kept alive: the loop reads into it
  for (const auto& e : listed["executors"]) n += e["in_flight"].get<int>();
  return n;
}

// An executor played by hand on a raw DEALER, so the test decides exactly
// which frames it sends.
struct raw_executor {
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> sock;
  std::string endpoint;
  std::chrono::steady_clock::time_point next_beat{};
  explicit raw_executor(std::string ep) : endpoint(std::move(ep)) { reconnect(); }
  void reconnect() {
    sock = std::make_unique<zmq::socket_t>(ctx, zmq::socket_type::dealer);
    sock->set(zmq::sockopt::linger, 0);
    sock->connect(endpoint);
  }
  void send(proto::msg_type t, nlohmann::json fields) {
    sock->send(zmq::buffer(proto::encode_frame(proto::make_envelope(t, std::move(fields)))), zmq::send_flags::none);
  }
  void hello(const nlohmann::json& held) {
    send(proto::msg_type::hello, {{"executor_id", "x_raw"}, {"name", "raw"}, {"caps", {"echo"}}, {"concurrency", 1},
                                  {"protocol", proto::version}, {"held", held}});
  }
  // The next frame of type `want`, skipping heartbeats and the like.
  std::optional<proto::envelope> next(proto::msg_type want, std::chrono::milliseconds within) {
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      // Alive as far as the node can tell, however long the test waits.
      if (auto now = std::chrono::steady_clock::now(); now >= next_beat) {
        send(proto::msg_type::heartbeat, {{"in_flight", 0}});
        next_beat = now + std::chrono::milliseconds(300);
      }
      zmq::pollitem_t item{sock->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t m;
      (void)sock->recv(m);
      auto env = proto::decode_frame(std::string_view(m.data<char>(), m.size()));
      if (env && env->type == want) return env.value();
    }
    return std::nullopt;
  }
};

// A msgpack body nested `depth` arrays deep: over the node's limit of 32.
std::string deep_result_frame(std::uint64_t task_id, std::uint64_t lease, int depth) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(6);
  pk.pack(std::string("cid"));
  pk.pack(task_id);
  pk.pack(std::string("trace"));
  pk.pack(new_trace_id());
  pk.pack(std::string("lease"));
  pk.pack(lease);
  pk.pack(std::string("ok"));
  pk.pack(true);
  pk.pack(std::string("result"));
  for (int i = 0; i < depth; ++i) pk.pack_array(1);
  pk.pack_nil();
  pk.pack(std::string("task_id"));
  pk.pack(task_id);
  std::string frame{static_cast<char>(proto::version), static_cast<char>(proto::msg_type::task_result)};
  return frame + std::string(buf.data(), buf.size());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(oversized_result_test)

BOOST_AUTO_TEST_CASE(sixteen_oversized_answers_then_a_hundred_echoes_all_succeed) {
  file_server files;
  temp_dir cfg_dir("keel-oversized-cfg");
  write_file(cfg_dir / "executor.yaml", "executor:\n  caps: [echo, http.request]\n  concurrency: 8\nhttp:\n  base_urls: {files: http://127.0.0.1:" +
                                            std::to_string(files.port) + "}\n");
  test_node c;
  c.start();
  c.add_executors(2, {"--config", cfg_dir / "executor.yaml"});

  // Sent all at once, as a busy workflow would: every slot of both executors.
  std::vector<std::uint64_t> cids;
  for (int i = 0; i < 16; ++i) {
    auto cid = c.cli->send("run", {{"action", "http.request"},
                                   {"args", {{"account", "files"}, {"method", "GET"}, {"url", i % 2 ? "/report.pdf" : "/export.txt"}}},
                                   {"timeout_ms", 20000}});
    BOOST_REQUIRE(cid.ok());
    cids.push_back(*cid);
  }
  for (std::size_t i = 0; i < cids.size(); ++i) {
    auto r = c.cli->receive(25s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "no answer to an oversized task: " << (r.ok() ? "" : r.err().message));
    BOOST_REQUIRE(!r->ok);
    BOOST_TEST(r->err.code == errc::result_too_large, r->err.code << ": " << r->err.message);
    BOOST_TEST(has(r->err.message, "over the node's frame limit of 1048576 bytes"), r->err.message);
    BOOST_TEST(has(r->err.message, "max_frame_bytes"), r->err.message);
  }
  BOOST_TEST(total_in_flight(c) == 0);
  for (int i = 0; i < 100; ++i) {
    auto r = c.cli->call("run", {{"action", "echo"}, {"args", {{"i", i}}}, {"timeout_ms", 5000}}, 10s);
    BOOST_REQUIRE_MESSAGE(r.ok(), "echo " << i << " failed: " << (r.ok() ? "" : r.err().message));
    BOOST_TEST(r->at("result").at("i") == i);
  }
  for (auto& x : c.executors) BOOST_TEST(!x->log_contains("refused"), x->log());
}

BOOST_AUTO_TEST_CASE(a_result_frame_the_node_refuses_still_answers_its_caller_and_frees_the_slot) {
  test_node c;
  c.start();
  raw_executor x(c.endpoint);
  x.hello(nlohmann::json::array());
  BOOST_REQUIRE(x.next(proto::msg_type::welcome, 5s));
  auto cid = c.cli->send("run", {{"action", "echo"}, {"args", {{"text", "hi"}}}, {"timeout_ms", 30000}});
  BOOST_REQUIRE(cid.ok());
  auto task = x.next(proto::msg_type::task, 5s);
  BOOST_REQUIRE(task);
  auto task_id = task->fields["task_id"].get<std::uint64_t>();
  auto lease = task->fields["lease"].get<std::uint64_t>();
  x.sock->send(zmq::buffer(deep_result_frame(task_id, lease, 40)), zmq::send_flags::none);

  auto r = c.cli->receive(5s);  // at once, not after the task's 30 s
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE(!r->ok);
  BOOST_TEST(r->err.code == errc::bad_frame, r->err.code << ": " << r->err.message);
  BOOST_TEST(has(r->err.message, "the node refused the executor's result frame"), r->err.message);
  BOOST_TEST(has(r->err.message, "deeper than 32"), r->err.message);
  BOOST_TEST(total_in_flight(c) == 0);
}

BOOST_AUTO_TEST_CASE(an_executor_back_on_a_new_connection_gets_the_slots_it_lost) {
  test_node c;
  c.start();
  raw_executor x(c.endpoint);
  x.hello(nlohmann::json::array());
  BOOST_REQUIRE(x.next(proto::msg_type::welcome, 5s));
  // A task whose caller gives up: its lease stays with the executor.
  auto gone = c.cli->send("run", {{"action", "echo"}, {"args", {{"n", 1}}}, {"timeout_ms", 300}});
  BOOST_REQUIRE(gone.ok());
  BOOST_REQUIRE(x.next(proto::msg_type::task, 5s));
  auto timed_out = c.cli->receive(5s);
  BOOST_REQUIRE(timed_out.ok());
  BOOST_REQUIRE(!timed_out->ok);
  BOOST_TEST(timed_out->err.code == errc::timeout);
  BOOST_TEST(total_in_flight(c) == 1);  // the executor never answered: its slot is still counted
  // A live task, sent while the old connection is being replaced.
  auto live = c.cli->send("run", {{"action", "echo"}, {"args", {{"n", 2}}}, {"timeout_ms", 20000}, {"schedule_to_start_ms", 20000}});
  BOOST_REQUIRE(live.ok());

  // The connection is replaced; the executor holds nothing any more.
  x.reconnect();
  x.hello(nlohmann::json::array());
  BOOST_REQUIRE(x.next(proto::msg_type::welcome, 5s));
  auto task = x.next(proto::msg_type::task, 5s);  // the freed slot takes the waiting task
  BOOST_REQUIRE(task);
  BOOST_TEST(task->fields["args"]["n"] == 2);
  x.send(proto::msg_type::task_result, {{"task_id", task->fields["task_id"]}, {"lease", task->fields["lease"]}, {"ok", true},
                                        {"result", {{"n", 2}}}});
  auto r = c.cli->receive(5s);
  BOOST_REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.err().message));
  BOOST_REQUIRE_MESSAGE(r->ok, r->err.message);
  BOOST_TEST(r->body.at("result").at("n") == 2);
  BOOST_TEST(total_in_flight(c) == 0);
  BOOST_TEST(c.proc().log_contains("reconnected without 1 of its lease(s)"), c.proc().log());
}

BOOST_AUTO_TEST_SUITE_END()
