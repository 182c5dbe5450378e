// The schedule book over a real store: a new schedule starts from now, a
// due fire is started once under its time's key, the cursor moves only
// when the start is answered, and the progress outlives the book.
#include <boost/test/unit_test.hpp>

#include "runtime/base/duration.hpp"
#include "runtime/workflow/schedule.hpp"
#include "tests/support/temp_dir.hpp"

using namespace keel;
using namespace keel::wf;

namespace {

workflow_catalog scheduled_catalog(const std::string& catch_up) {
  auto def = parse_workflow("name: digest\ntrigger: {schedule: \"0 * * * *\", catch_up: " + catch_up +
                                "}\nsteps:\n  - {id: a, action: noop}\n",
                            "digest.yaml", builtin_action_names());
  BOOST_REQUIRE_MESSAGE(def.ok(), (def ? "" : def.err().message));
  workflow_catalog cat;
  cat.add(std::move(*def));
  return cat;
}

struct started {
  std::vector<start_request> requests;
  std::vector<schedule_book::start_done> answers;
  schedule_book::start_fn fn() {
    return [this](start_request r, schedule_book::start_done done) {
      requests.push_back(std::move(r));
      answers.push_back(std::move(done));
    };
  }
};

std::int64_t book_at(const char* text) { return *parse_timestamp(text); }

}  // namespace

BOOST_AUTO_TEST_SUITE(schedule_book_test)

BOOST_AUTO_TEST_CASE(a_due_fire_starts_once_and_its_progress_is_kept) {
  test::temp_dir dir;
  auto db = store::open(dir.path());
  BOOST_REQUIRE(db.ok());
  auto cat = scheduled_catalog("one");
  started s;
  {
    schedule_book book(cat, **db);
    // First seen at 10:20: nothing from before it exists is started.
    auto wait = book.pass(book_at("2026-12-06T10:20:00Z"), s.fn());
    BOOST_TEST(s.requests.empty());
    BOOST_TEST(wait.count() == 30'000);  // the next fire is 40 minutes away; looks again in 30 s
    book.pass(book_at("2026-12-06T11:00:02Z"), s.fn());
    BOOST_REQUIRE_EQUAL(s.requests.size(), 1u);
    BOOST_TEST(s.requests[0].idempotency_key == schedule_start_key("digest", book_at("2026-12-06T11:00:00Z")));
    BOOST_TEST(s.requests[0].input["scheduled_at"] == "2026-12-06T11:00:00.000Z");
    BOOST_TEST(s.requests[0].by == "schedule");
    // Not answered yet: the next pass does not start it again.
    book.pass(book_at("2026-12-06T11:00:03Z"), s.fn());
    BOOST_TEST(s.requests.size() == 1u);
    // The executor agent was restarting: tried again, same key.
    s.answers[0](error{errc::unavailable, "restarting"});
    book.pass(book_at("2026-12-06T11:00:04Z"), s.fn());
    BOOST_REQUIRE_EQUAL(s.requests.size(), 2u);
    BOOST_TEST(s.requests[1].idempotency_key == s.requests[0].idempotency_key);
    s.answers[1](nlohmann::json{{"instance", "wf_1"}});
    book.pass(book_at("2026-12-06T11:00:05Z"), s.fn());
    BOOST_TEST(s.requests.size() == 2u);
  }
  // A new book (the node restarted) reads the progress back.
  schedule_book again(cat, **db);
  auto list = again.list(book_at("2026-12-06T11:30:00Z"));
  BOOST_REQUIRE_EQUAL(list.size(), 1u);
  BOOST_TEST(list[0]["last_instance"] == "wf_1");
  BOOST_TEST(list[0]["last_fire_ms"] == book_at("2026-12-06T11:00:00Z"));
  BOOST_TEST(list[0]["next_ms"] == book_at("2026-12-06T12:00:00Z"));
  BOOST_TEST(list[0]["timezone"] == "UTC");
  // Down from 11:30 to 14:10, catch_up one: one run, for 14:00.
  again.pass(book_at("2026-12-06T14:10:00Z"), s.fn());
  BOOST_REQUIRE_EQUAL(s.requests.size(), 3u);
  BOOST_TEST(s.requests[2].idempotency_key == schedule_start_key("digest", book_at("2026-12-06T14:00:00Z")));
  s.answers[2](nlohmann::json{{"instance", "wf_2"}});
  BOOST_TEST(again.list(book_at("2026-12-06T14:10:00Z"))[0]["passed_over"] == 2);
}

BOOST_AUTO_TEST_CASE(skip_passes_over_missed_fires_and_a_refused_start_is_recorded) {
  test::temp_dir dir;
  auto db = store::open(dir.path());
  BOOST_REQUIRE(db.ok());
  auto cat = scheduled_catalog("skip");
  started s;
  schedule_book book(cat, **db);
  book.pass(book_at("2026-12-06T10:20:00Z"), s.fn());
  book.pass(book_at("2026-12-06T13:30:00Z"), s.fn());
  BOOST_TEST(s.requests.empty());
  auto list = book.list(book_at("2026-12-06T13:30:00Z"));
  BOOST_TEST(list[0]["passed_over"] == 3);
  BOOST_TEST(list[0]["next_ms"] == book_at("2026-12-06T14:00:00Z"));
  // A start refused for good (not "retry later") moves on and says why.
  book.pass(book_at("2026-12-06T14:00:01Z"), s.fn());
  BOOST_REQUIRE_EQUAL(s.requests.size(), 1u);
  s.answers[0](error{errc::forbidden, "policy denies digest"});
  list = book.list(book_at("2026-12-06T14:00:02Z"));
  BOOST_TEST(list[0]["last_error"] == "policy denies digest");
  BOOST_TEST(list[0]["next_ms"] == book_at("2026-12-06T15:00:00Z"));
}

BOOST_AUTO_TEST_SUITE_END()
