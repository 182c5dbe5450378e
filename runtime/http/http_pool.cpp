#include "runtime/http/http_pool.hpp"

#include <algorithm>

namespace keel::http {

result<std::unique_ptr<pool>> pool::open(const std::string& url, pool_options options) {
  auto where = parse_url(url);
  if (!where) return where.err();
  return std::unique_ptr<pool>(new pool(std::move(*where), std::move(options)));
}

pool::pool(url_parts where, pool_options options)
    : where_(std::move(where)), options_(std::move(options)), origin_(where_.origin()) {}

std::unique_ptr<connection> pool::take_idle() {
  for (;;) {
    std::unique_ptr<connection> c;
    {
      std::lock_guard lock(mu_);
      if (idle_.empty()) return nullptr;
      c = std::move(idle_.back());
      idle_.pop_back();
    }
    if (!c->stale()) return c;  // a system call: outside the lock
  }
}

void pool::keep_idle(std::unique_ptr<connection> c) {
  std::lock_guard lock(mu_);
  if (idle_.size() < options_.max_idle) idle_.push_back(std::move(c));
}

result<response> pool::exchange(const outgoing& req, net::clock::time_point deadline) {
  auto attempt = [&](std::unique_ptr<connection>& conn) -> result<response> {
    if (!conn) {
      auto connect_by = std::min(deadline, net::clock::now() + options_.connect_timeout);
      auto opened = connection::open(where_, options_.ca_file, connect_by, origin_);
      if (!opened) return opened.err();
      conn = std::move(opened.value());
    }
    return conn->exchange(req, deadline);
  };
  auto conn = take_idle();
  bool reused = conn != nullptr;
  auto res = attempt(conn);
  if (!res && reused && res.err().code == errc::unavailable && !conn->answered()) {
    conn.reset();
    res = attempt(conn);
  }
  if (res && conn->reusable()) keep_idle(std::move(conn));
  return res;
}

}  // namespace keel::http
