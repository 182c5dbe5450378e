// The client against a stand-in node: a ROUTER socket on 127.0.0.1 that
// answers with exactly the messages a test wants, including ones a real
// node never sends (an old protocol version, unreadable replies).
#include <boost/test/unit_test.hpp>

#include <zmq.hpp>

#include "runtime/fabric/bundle.hpp"
#include "runtime/fabric/client.hpp"
#include "runtime/fabric/protocol.hpp"
#include "tests/support/process.hpp"

using namespace keel;
using namespace std::chrono_literals;

namespace {

struct stand_in_node {
  zmq::context_t ctx{1};
  zmq::socket_t router{ctx, zmq::socket_type::router};
  std::string endpoint;
  std::string peer;  // the client's routing id, once it said something

  stand_in_node() {
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:*");
    endpoint = router.get(zmq::sockopt::last_endpoint);
  }
  // Reads one request and returns its cid.
  std::uint64_t take_request() {
    zmq::message_t id, frame;
    BOOST_REQUIRE(router.recv(id));
    BOOST_REQUIRE(router.recv(frame));
    peer = id.to_string();
    auto env = proto::decode_frame(frame.to_string_view());
    BOOST_REQUIRE(env.ok());
    return env->cid;
  }
  // A client of this node with one request sent and read here.
  std::unique_ptr<client> client_after_ping(std::uint64_t& cid) {
    auto c = client::connect(endpoint);
    BOOST_REQUIRE(c.ok());
    BOOST_REQUIRE((*c)->send("ping", nlohmann::json::object()).ok());
    BOOST_REQUIRE((*c)->flush().ok());
    cid = take_request();
    return std::move(*c);
  }
  void answer(const std::vector<std::string>& parts) {
    router.send(zmq::buffer(peer), zmq::send_flags::sndmore);
    for (std::size_t i = 0; i < parts.size(); ++i)
      router.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
};

std::string ok_reply(std::uint64_t cid, nlohmann::json body) {
  return proto::encode_frame(proto::make_ok_reply(cid, new_trace_id(), std::move(body)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(client_test)

BOOST_AUTO_TEST_CASE(replies_in_one_bundle_are_read_in_order_and_a_bad_one_alone_fails) {
  stand_in_node node;
  std::uint64_t cid = 0;
  auto c = node.client_after_ping(cid);
  BOOST_TEST(cid == 1u);
  std::string unreadable = ok_reply(99, {{"n", 2}});
  unreadable.resize(unreadable.size() - 3);  // truncated msgpack
  auto bundle = proto::bundle_frames({ok_reply(7, {{"n", 1}}), unreadable, ok_reply(8, {{"n", 3}})}, 1 << 20);
  BOOST_REQUIRE_EQUAL(bundle.size(), 1u);
  node.answer({bundle.front()});

  auto first = c->receive_view(5s);
  BOOST_REQUIRE(first.ok());
  BOOST_TEST(first->cid == 7u);
  BOOST_TEST(first->ok);
  BOOST_TEST(first->body.find("n").as_uint().value_or(0) == 1u);
  auto second = c->receive_view(5s);
  BOOST_REQUIRE(!second.ok());
  BOOST_TEST(second.err().message.find("the node sent a reply this client cannot read") != std::string::npos,
             second.err().message);
  auto third = c->receive(5s);  // the JSON form reads on from the same bundle
  BOOST_REQUIRE(third.ok());
  BOOST_TEST(third->cid == 8u);
  BOOST_TEST(third->body == nlohmann::json({{"n", 3}}));
}

BOOST_AUTO_TEST_CASE(a_version_1_answer_names_both_versions_and_other_multipart_messages_are_skipped) {
  stand_in_node node;
  std::uint64_t cid = 0;
  auto c = node.client_after_ping(cid);
  node.answer({"a", "b"});  // two parts: no message of any version
  node.answer({ok_reply(cid, {{"pong", true}})});
  auto r = c->receive_view(5s);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(r->cid == cid);
  BOOST_TEST(r->body.find("pong").as_bool().value_or(false));

  node.answer({std::string(1, '\x01'), std::string(1, '\x02'), "body"});
  auto old = c->receive_view(5s);
  BOOST_REQUIRE(!old.ok());
  BOOST_TEST(old.err().code == errc::bad_version);
  BOOST_TEST(old.err().message.find("speaks protocol version 1") != std::string::npos, old.err().message);
  BOOST_TEST(old.err().message.find("this client speaks version " + std::to_string(proto::version)) != std::string::npos,
             old.err().message);
}

BOOST_AUTO_TEST_CASE(an_error_reply_is_a_value_with_its_code_and_message) {
  stand_in_node node;
  std::uint64_t cid = 0;
  auto c = node.client_after_ping(cid);
  node.answer({proto::encode_frame(proto::make_error_reply(proto::msg_type::response, cid, new_trace_id(),
                                                           error{errc::not_found, "no such thing"}))});
  auto r = c->receive_view(5s);
  BOOST_REQUIRE(r.ok());
  BOOST_TEST(!r->ok);
  BOOST_TEST(r->err.code == errc::not_found);
  BOOST_TEST(r->err.message == "no such thing");
}

BOOST_AUTO_TEST_SUITE_END()
