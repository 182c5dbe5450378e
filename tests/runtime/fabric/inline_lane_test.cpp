// The inline lane's contract (runtime/fabric/inline_lane.hpp): it runs the handler
// only when no handler is missing, no posted batch is pending and nobody
// holds the actor's mutex, it never waits, and it leaves a declined frame
// untouched for the mailbox.
#include <boost/test/unit_test.hpp>

#include <future>
#include <thread>

#include "runtime/fabric/inline_lane.hpp"

using keel::inbound_view;
using keel::inline_lane;
namespace proto = keel::proto;

namespace {

// A `run` request as the gateway offers it: a view over the received bytes.
struct lane_frame {
  std::string peer, principal, bytes;
  proto::frame_view view;
  explicit lane_frame(std::string p)
      : peer(std::move(p)),
        bytes(proto::encode_frame(proto::make_envelope(proto::msg_type::request, {{"op", "run"}}))),
        view(proto::view_frame(bytes).value()) {}
  lane_frame(const lane_frame&) = delete;  // the view reads `bytes`
  inbound_view in() const { return {peer, principal, view}; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(inline_lane_test)

BOOST_AUTO_TEST_CASE(without_a_handler_every_frame_goes_to_the_mailbox) {
  inline_lane lane;
  lane_frame in("p1");
  BOOST_TEST(!lane.try_handle(in.in()));
  BOOST_TEST(in.peer == "p1");
}

BOOST_AUTO_TEST_CASE(a_declined_frame_is_left_as_it_was) {
  inline_lane lane;
  int calls = 0;
  lane.attach([&](const inbound_view& in) {
    ++calls;
    return in.peer != "decline";
  });
  lane_frame declined("decline");
  BOOST_TEST(!lane.try_handle(declined.in()));
  BOOST_TEST(declined.peer == "decline");
  BOOST_TEST(declined.view.find("op").as_str().value_or("") == "run");
  lane_frame taken("take");
  BOOST_TEST(lane.try_handle(taken.in()));
  BOOST_TEST(calls == 2);
}

BOOST_AUTO_TEST_CASE(a_posted_batch_shuts_the_lane_until_every_copy_is_gone) {
  inline_lane lane;
  int calls = 0;
  lane.attach([&](const inbound_view&) { return ++calls, true; });
  auto token = lane.batch_posted();
  auto copy = token;  // CAF may copy a message's contents
  lane_frame in("p");
  BOOST_TEST(!lane.try_handle(in.in()));
  token.reset();
  BOOST_TEST(!lane.try_handle(in.in()));
  copy.reset();
  BOOST_TEST(lane.try_handle(in.in()));
  BOOST_TEST(calls == 1);
  // Two batches in flight: both must be done.
  auto a = lane.batch_posted();
  auto b = lane.batch_posted();
  a.reset();
  BOOST_TEST(!lane.try_handle(in.in()));
  b.reset();
  BOOST_TEST(lane.try_handle(in.in()));
}

BOOST_AUTO_TEST_CASE(a_running_actor_shuts_the_lane_without_making_it_wait) {
  inline_lane lane;
  int calls = 0;
  lane.attach([&](const inbound_view&) { return ++calls, true; });
  std::promise<void> locked, release;
  auto release_f = release.get_future();
  std::thread actor([&] {
    std::lock_guard<std::recursive_mutex> g(lane.mutex());  // an activation
    locked.set_value();
    release_f.wait();
  });
  locked.get_future().wait();
  lane_frame in("p");
  BOOST_TEST(!lane.try_handle(in.in()));  // returns at once: the test would hang otherwise
  release.set_value();
  actor.join();
  BOOST_TEST(lane.try_handle(in.in()));
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_CASE(after_detach_the_handler_is_never_called) {
  inline_lane lane;
  int calls = 0;
  lane.attach([&](const inbound_view&) { return ++calls, true; });
  {
    // The actor detaches from inside an activation (its state's destructor
    // runs there): the mutex is recursive.
    std::lock_guard<std::recursive_mutex> g(lane.mutex());
    lane.detach();
  }
  lane_frame in("p");
  BOOST_TEST(!lane.try_handle(in.in()));
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(the_handler_and_the_actor_never_run_at_once) {
  inline_lane lane;
  long shared = 0;  // deliberately not atomic: the lane's mutex is what protects it
  std::atomic<bool> inside{false}, overlap{false};
  auto enter = [&] {
    if (inside.exchange(true)) overlap = true;
    ++shared;
    inside = false;
  };
  lane.attach([&](const inbound_view&) { return enter(), true; });
  constexpr int rounds = 20000;
  std::thread actor([&] {
    for (int i = 0; i < rounds; ++i) {
      std::lock_guard<std::recursive_mutex> g(lane.mutex());
      enter();
    }
  });
  long handled = 0;
  for (int i = 0; i < rounds; ++i) {
    lane_frame in("p");
    if (lane.try_handle(in.in())) ++handled;
  }
  actor.join();
  BOOST_TEST(!overlap.load());
  BOOST_TEST(shared == rounds + handled);
}

BOOST_AUTO_TEST_SUITE_END()
