// Garbage on the ROUTER: random bytes, truncated msgpack, an unknown version,
// deep nesting, a huge frame. The node answers what it can with an error,
// counts the rest, stays up, and serves the next valid request.
#include "tests/integration/node_fixture.hpp"

#include <random>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "runtime/fabric/bundle.hpp"
#include "runtime/fabric/protocol.hpp"

using namespace keel;
using namespace keel::test;

namespace {

struct raw_peer {
  zmq::context_t ctx{1};
  zmq::socket_t sock{ctx, zmq::socket_type::dealer};
  explicit raw_peer(const std::string& ep) {
    sock.set(zmq::sockopt::linger, 0);
    sock.connect(ep);
  }
  void send(const std::vector<std::string>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i)
      sock.send(zmq::buffer(parts[i]), i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
  // The error reply, if one comes within the timeout. `legacy` tells
  // whether it came in version 1's three frames.
  std::optional<proto::envelope> reply(std::chrono::milliseconds timeout, bool* legacy = nullptr) {
    zmq::pollitem_t item{sock.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, timeout);
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    std::vector<zmq::message_t> parts;
    do {
      zmq::message_t m;
      (void)sock.recv(m);
      parts.push_back(std::move(m));
    } while (parts.back().more());
    auto str = [](zmq::message_t& m) { return std::string(m.data<char>(), m.size()); };
    if (legacy) *legacy = parts.size() == 3;
    std::string frame;
    if (parts.size() == 1) frame = str(parts[0]);
    else if (parts.size() == 3 && str(parts[0]) == std::string(1, '\x01'))  // read version 1 as its body map
      frame = std::string(1, static_cast<char>(proto::version)) + str(parts[1]) + str(parts[2]);
    else return std::nullopt;
    auto e = proto::decode_frame(frame);
    if (!e) return std::nullopt;
    return e.value();
  }
};

std::string type(proto::msg_type t) { return std::string(1, static_cast<char>(t)); }
// One wire frame of the current version.
std::string frame(proto::msg_type t, const std::string& body) {
  return std::string(1, static_cast<char>(proto::version)) + type(t) + body;
}

std::string nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s.push_back(static_cast<char>(0x91));  // fixarray of 1
  s.push_back(static_cast<char>(0xc0));
  return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hostile_frames_test)

BOOST_AUTO_TEST_CASE(garbage_is_refused_and_the_node_keeps_serving) {
  test_node c;
  c.start();
  c.add_executors(1);
  auto ok_after = [&](const char* what) {
    auto r = c.cli->call("ping", nlohmann::json::object(), 5s);
    BOOST_TEST(r.ok(), "node did not answer after " << what);
    BOOST_TEST(c.proc().running(), "node died after " << what);
  };
  {
    raw_peer junk_peer(c.endpoint);
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
      std::string junk(static_cast<std::size_t>(rng() % 300), '\0');
      for (auto& ch : junk) ch = static_cast<char>(rng());
      junk_peer.send({junk});
    }
    // Every one of them is answered with an error frame.
    for (int i = 0; i < 200; ++i) BOOST_REQUIRE_MESSAGE(junk_peer.reply(5s).has_value(), "no error reply " << i);
    ok_after("random single frames");
  }
  raw_peer peer(c.endpoint);  // a fresh peer: its replies are only the ones below

  peer.send({std::string(1, '\x07') + type(proto::msg_type::request) + "\x80"});
  auto ver = peer.reply(5s);
  BOOST_REQUIRE(ver.has_value());
  BOOST_TEST(ver->fields["error"]["code"] == "bad_version");
  BOOST_TEST(ver->fields["error"]["message"].get<std::string>().find("unsupported protocol version 7") !=
             std::string::npos);

  // A peer of protocol version 1 sends three frames: it is told, in three
  // frames it can read, which versions differ.
  {
    auto env = proto::make_envelope(proto::msg_type::request, {{"op", "ping"}, {"args", nlohmann::json::object()}}, 3);
    auto body = proto::encode_frame(env).substr(2);
    peer.send({std::string(1, '\x01'), type(proto::msg_type::request), body});
    bool legacy = false;
    auto old = peer.reply(5s, &legacy);
    BOOST_REQUIRE(old.has_value());
    BOOST_TEST(legacy);
    BOOST_TEST(old->fields["error"]["code"] == "bad_version");
    auto msg = old->fields["error"]["message"].get<std::string>();
    BOOST_TEST(msg.find("peer speaks protocol version 1") != std::string::npos, msg);
    BOOST_TEST(msg.find("this node speaks version " + std::to_string(proto::version)) != std::string::npos, msg);
  }
  // Two frames are no message of any version.
  peer.send({frame(proto::msg_type::request, "\x80"), "extra"});
  auto two = peer.reply(5s);
  BOOST_REQUIRE(two.has_value());
  BOOST_TEST(two->fields["error"]["message"].get<std::string>().find("expected one frame") != std::string::npos);

  peer.send({frame(proto::msg_type::request, "\x85\xa3" "cid")});  // truncated map
  auto trunc = peer.reply(5s);
  BOOST_REQUIRE(trunc.has_value());
  BOOST_TEST(trunc->fields["error"]["code"] == "bad_frame");
  ok_after("truncated msgpack");

  peer.send({frame(proto::msg_type::request, nested(100000))});
  auto deep = peer.reply(5s);
  BOOST_REQUIRE(deep.has_value());
  BOOST_TEST(deep->fields["error"]["message"].get<std::string>().find("nests deeper") != std::string::npos);
  ok_after("deep nesting");

  // A map header claiming 2^32-1 entries in a tiny body.
  peer.send({frame(proto::msg_type::request, "\xdf\xff\xff\xff\xff")});
  BOOST_TEST(peer.reply(5s).has_value());
  ok_after("a huge claimed length");

  peer.send({frame(proto::msg_type::task, "\x80")});  // a type the node never accepts from peers
  ok_after("an unexpected type");

  // Larger than max_frame_bytes: ZeroMQ drops the connection of that peer.
  {
    raw_peer big(c.endpoint);
    big.send({frame(proto::msg_type::request, std::string(3 << 20, 'x'))});
    ok_after("a 3 MiB frame");
  }

  auto st = c.require("status")["node"]["frames"];
  // The random frames count as bad or, when their first byte is not 2, as of another version.
  BOOST_TEST(st["bad"].get<std::uint64_t>() + st["bad_version"].get<std::uint64_t>() >= 200u + 2u);
  BOOST_TEST(st["bad_version"].get<std::uint64_t>() >= 2u);
  // And real work still runs.
  BOOST_TEST(c.require("run", {{"action", "echo"}, {"args", {{"still", "here"}}}})["result"]["still"] == "here");
}

BOOST_AUTO_TEST_CASE(a_malformed_bundle_is_refused_whole_and_a_good_one_is_served_frame_by_frame) {
  test_node c;
  c.start();
  raw_peer peer(c.endpoint);
  auto ping = [](std::uint64_t cid) {
    proto::envelope e = proto::make_envelope(proto::msg_type::request, {{"op", "ping"}, {"args", nlohmann::json::object()}}, cid);
    return proto::encode_frame(e);
  };
  auto good = proto::bundle_frames({ping(1), ping(2), ping(3)}, 1 << 20);
  BOOST_REQUIRE(good.size() == 1u);
  const std::string head = std::string(1, static_cast<char>(proto::version)) + type(proto::msg_type::bundle);
  const std::pair<std::string, const char*> bad[] = {
      {good[0].substr(0, good[0].size() - 3), "fewer remain"},
      {good[0] + "x", "trailing bytes"},
      {head + "\x90", "holds 0 frames"},
      {head + "\x91\xc4\x03" + head + "x", "itself a bundle"},
      {head + "\x91\xa2hi", "not msgpack bin"},
  };
  for (const auto& [bytes, says] : bad) {
    peer.send({bytes});
    auto r = peer.reply(5s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), "no error reply for a bundle that should say " << says);
    BOOST_TEST(r->fields["error"]["code"] == "bad_frame");
    BOOST_TEST(r->fields["error"]["message"].get<std::string>().find(says) != std::string::npos,
               r->fields["error"]["message"]);
  }
  // Nothing inside a refused bundle was handled: the next three replies
  // are the good bundle's, in order.
  peer.send({good[0]});
  for (std::uint64_t cid = 1; cid <= 3; ++cid) {
    auto r = peer.reply(5s);
    BOOST_REQUIRE_MESSAGE(r.has_value(), "no answer to ping " << cid << " of the bundle");
    BOOST_TEST(r->cid == cid);
    BOOST_TEST(r->fields["ok"] == true);
  }
  auto st = c.require("status")["node"]["frames"];
  BOOST_TEST(st["bundles_in"].get<std::uint64_t>() == 1u);
  BOOST_TEST(st["bad"].get<std::uint64_t>() >= 5u);
  BOOST_TEST(c.proc().running());
}

BOOST_AUTO_TEST_CASE(malformed_executor_hello_is_refused_without_registering) {
  test_node c;
  c.start();
  raw_peer peer(c.endpoint);
  proto::envelope env;
  env.type = proto::msg_type::hello;
  env.cid = 1;
  env.trace = new_trace_id();
  env.fields = {{"executor_id", "evil"}, {"caps", "echo"}, {"concurrency", 1}, {"protocol", proto::version}};
  peer.send({proto::encode_frame(env)});
  auto r = peer.reply(5s);
  BOOST_REQUIRE(r.has_value());
  BOOST_TEST(r->fields["error"]["message"].get<std::string>().find("\"caps\" must be a list") != std::string::npos);
  env.fields = {{"executor_id", "old"}, {"caps", {"echo"}}, {"concurrency", 1}, {"protocol", 99}};
  peer.send({proto::encode_frame(env)});
  auto v = peer.reply(5s);
  BOOST_REQUIRE(v.has_value());
  BOOST_TEST(v->fields["error"]["message"].get<std::string>().find("protocol 99") != std::string::npos);
  BOOST_TEST(c.executor_count() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
