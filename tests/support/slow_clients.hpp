// Hostile HTTP clients for the server tests: "slowloris" connections that
// start a request and never finish its head, and a timed probe that says
// how long one plain request took.
//
// slow_clients keeps `count` connections to 127.0.0.1:port. Each sends a
// request line and one header, then one more header line every `every`,
// and never the blank line that ends the head. A connection the server
// closes is opened again 100 ms later, so the pressure lasts until the
// object is destroyed, as a real attacker's would. One thread drives all of them
// with poll(); nothing here blocks the test's own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace keel::test {

class slow_clients {
 public:
  slow_clients(int port, int count, std::chrono::milliseconds every = std::chrono::seconds(2),
               std::string request_line = "GET /metrics HTTP/1.1");
  ~slow_clients();  // stops the thread and closes every connection
  slow_clients(const slow_clients&) = delete;
  slow_clients& operator=(const slow_clients&) = delete;

  int open() const { return open_.load(); }                // connected now
  long opened() const { return opened_.load(); }           // connections made in all
  long closed_by_server() const { return closed_.load(); } // seen closed (EOF or reset) by the server
  long lines_sent() const { return lines_.load(); }        // header lines written after the first

 private:
  void run();

  int port_;
  int count_;
  std::chrono::milliseconds every_;
  std::string request_line_;
  std::atomic<bool> stop_{false};
  std::atomic<int> open_{0};
  std::atomic<long> opened_{0};
  std::atomic<long> closed_{0};
  std::atomic<long> lines_{0};
  std::thread thread_;
};

// One request on a fresh connection to 127.0.0.1:port, written and read
// with plain sockets, given up after `timeout`. status is 0 when no
// complete status line arrived in time (refused, reset or too slow).
struct probe_result {
  int status = 0;
  std::chrono::milliseconds elapsed{0};
  std::string response;  // what arrived, head and body
};
probe_result probe_http(int port, const std::string& raw_request, std::chrono::milliseconds timeout);
// GET `path` with Connection: close.
probe_result probe_get(int port, const std::string& path, std::chrono::milliseconds timeout);

}  // namespace keel::test
