// A stopping executor's goodbye when the node has read its hello but the
// welcome has not reached it yet. The node may already have leased it a
// task, so the executor must say goodbye and wait for the answer instead of
// assuming nobody knows it. The test plays the node with a raw ROUTER, which
// fixes the order of frames that a real node only produces by chance.
#include "tests/integration/node_fixture.hpp"

#include <signal.h>

#include <zmq.hpp>

#include "runtime/fabric/protocol.hpp"

using namespace keel;
using namespace keel::test;

namespace {

struct from_peer {
  std::string identity;
  proto::envelope env;
};

// One message from `sock` (a ROUTER: identity, then one frame) within the timeout.
std::optional<from_peer> read_from(zmq::socket_t& sock, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
  std::vector<std::string> parts;
  zmq::message_t m;
  do {
    (void)sock.recv(m);
    parts.emplace_back(m.data<char>(), m.size());
  } while (m.more());
  if (parts.size() != 2) return std::nullopt;
  auto env = proto::decode_frame(parts[1]);
  if (!env) return std::nullopt;
  return from_peer{parts[0], env.value()};
}

void send_to(zmq::socket_t& sock, const std::string& identity, proto::msg_type type, nlohmann::json fields,
             std::uint64_t cid = 0) {
  sock.send(zmq::buffer(identity), zmq::send_flags::sndmore);
  sock.send(zmq::buffer(proto::encode_frame(proto::make_envelope(type, std::move(fields), cid))),
            zmq::send_flags::none);
}

// The next message of `type`, skipping heartbeats.
std::optional<from_peer> expect(zmq::socket_t& sock, proto::msg_type type) {
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    auto m = read_from(sock, 1s);
    if (m && m->env.type == type) return m;
    if (m && m->env.type != proto::msg_type::heartbeat) return m;  // the wrong message: let the caller say so
  }
  return std::nullopt;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(executor_goodbye_test)

BOOST_AUTO_TEST_CASE(stopping_before_the_welcome_still_runs_a_task_the_node_leased) {
  temp_dir dir;
  zmq::context_t ctx{1};
  zmq::socket_t node{ctx, zmq::socket_type::router};
  node.set(zmq::sockopt::linger, 0);
  auto endpoint = endpoint_for(free_port());
  node.bind(endpoint);
  auto exec = start_executor(endpoint, "early", dir / "exec.log", {"--concurrency", "2"});

  auto hello = expect(node, proto::msg_type::hello);
  BOOST_REQUIRE_MESSAGE(hello && hello->env.type == proto::msg_type::hello, exec->log());
  // The node has registered it; the executor is told to stop before it has
  // read a word from the node.
  ::kill(exec->pid(), SIGTERM);
  auto bye = expect(node, proto::msg_type::goodbye);
  BOOST_REQUIRE_MESSAGE(bye && bye->env.type == proto::msg_type::goodbye,
                        "the executor left without a goodbye; its log:\n" << exec->log());
  BOOST_TEST(bye->env.fields.value("final", true) == false);

  // What a real node sends in this order: the welcome, a task leased before
  // it read the goodbye, and then its answer to the goodbye.
  send_to(node, hello->identity, proto::msg_type::welcome, {{"node_id", "raw"}, {"heartbeat_ms", 1000}});
  send_to(node, hello->identity, proto::msg_type::task,
          {{"task_id", 7}, {"lease", 1}, {"action", "echo"}, {"args", {{"x", 1}}}, {"deadline_ms", 5000}}, 7);
  send_to(node, hello->identity, proto::msg_type::goodbye, {{"ack", true}});

  auto result = expect(node, proto::msg_type::task_result);
  BOOST_REQUIRE_MESSAGE(result && result->env.type == proto::msg_type::task_result,
                        "the leased task was left behind; executor log:\n" << exec->log());
  BOOST_TEST(result->env.fields.value("task_id", 0) == 7);
  BOOST_TEST(result->env.fields.value("ok", false) == true, result->env.fields.dump());
  auto last = expect(node, proto::msg_type::goodbye);
  BOOST_REQUIRE(last);
  BOOST_TEST(last->env.fields.value("final", false) == true);
  BOOST_TEST(exec->wait_exit(10s) == 0);
}

BOOST_AUTO_TEST_CASE(the_node_answers_a_goodbye_from_an_executor_it_does_not_know) {
  // The executor in the case above waits for this answer; a node that
  // never registered it (a refused hello, a restarted node) must still
  // give it, or the executor waits out its 2 s fallback on every stop.
  temp_dir dir;
  auto n = start_node({dir / "data", dir / "node.log", {}, ""});
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  sock.set(zmq::sockopt::linger, 0);
  sock.connect(n.endpoint);
  sock.send(zmq::buffer(proto::encode_frame(proto::make_envelope(proto::msg_type::goodbye, {{"final", false}}))),
            zmq::send_flags::none);
  zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, 5000ms);
  BOOST_REQUIRE_MESSAGE(item.revents & ZMQ_POLLIN, "no answer to the goodbye");
  zmq::message_t m;
  (void)sock.recv(m);
  auto env = proto::decode_frame(std::string_view(m.data<char>(), m.size()));
  BOOST_REQUIRE(env.ok());
  BOOST_TEST(static_cast<int>(env->type) == static_cast<int>(proto::msg_type::goodbye));
  BOOST_TEST(env->fields.value("ack", false) == true);
  BOOST_TEST(n.proc->running());
}

BOOST_AUTO_TEST_SUITE_END()
