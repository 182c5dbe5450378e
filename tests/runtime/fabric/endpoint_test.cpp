// Endpoint text helpers (runtime/fabric/curve_keys.hpp): which endpoints are
// loopback, their ports, and where a local process reaches a node's bind.
#include <boost/test/unit_test.hpp>

#include "runtime/fabric/curve_keys.hpp"

using namespace keel;

BOOST_AUTO_TEST_SUITE(endpoint_test)

BOOST_AUTO_TEST_CASE(a_wildcard_bind_is_reached_on_loopback_and_nothing_else_changes) {
  BOOST_TEST(local_endpoint_of("tcp://*:7401") == "tcp://127.0.0.1:7401");
  BOOST_TEST(local_endpoint_of("tcp://" + std::string("0.0.0.0") + ":7401") == "tcp://127.0.0.1:7401");
  BOOST_TEST(local_endpoint_of("tcp://[::]:7401") == "tcp://127.0.0.1:7401");
  BOOST_TEST(local_endpoint_of("tcp://127.0.0.1:7401") == "tcp://127.0.0.1:7401");
  BOOST_TEST(local_endpoint_of("tcp://192.0.2.10:7401") == "tcp://192.0.2.10:7401");
  BOOST_TEST(local_endpoint_of("tcp://[::1]:7401") == "tcp://[::1]:7401");
  BOOST_TEST(local_endpoint_of("ipc:///run/keel.sock") == "ipc:///run/keel.sock");
  BOOST_TEST(local_endpoint_of("tcp://nohost") == "tcp://nohost");
}

BOOST_AUTO_TEST_CASE(loopback_and_ports) {
  BOOST_TEST(is_loopback_endpoint("tcp://127.0.0.1:7401"));
  BOOST_TEST(is_loopback_endpoint("tcp://[::1]:7401"));
  BOOST_TEST(is_loopback_endpoint("ipc:///run/keel.sock"));
  BOOST_TEST(!is_loopback_endpoint("tcp://*:7401"));
  BOOST_TEST(!is_loopback_endpoint("tcp://192.0.2.10:7401"));
  BOOST_TEST(endpoint_port("tcp://127.0.0.1:7401") == 7401);
  BOOST_TEST(endpoint_port("tcp://127.0.0.1:99999") == 0);
  BOOST_TEST(endpoint_port("ipc:///run/keel.sock") == 0);
}

BOOST_AUTO_TEST_SUITE_END()
