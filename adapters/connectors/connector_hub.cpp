#include "adapters/connectors/connector_hub.hpp"

#include <spdlog/spdlog.h>

#include "runtime/base/utf8.hpp"

namespace keel::connectors {

namespace {
std::int64_t wall_ms(std::chrono::steady_clock::time_point t) {
  auto now_wall = std::chrono::system_clock::now();
  auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(t - std::chrono::steady_clock::now());
  return std::chrono::duration_cast<std::chrono::milliseconds>(now_wall.time_since_epoch() + delta).count();
}

// A connector reads what others wrote (files, APIs, mail): a bug that
// throws on some record must fail that sync, not take the node down. What
// the pass committed before stays; the rest is read again next time.
result<sync_report> sync_guarded(connector& c, bool full) {
  try {
    return c.sync(full);
  } catch (const std::exception& ex) {
    return error{errc::internal, c.name() + ": the sync stopped on an internal error (" + utf8::repaired(ex.what()) +
                                     "); records committed before it are kept. Please report this with the source "
                                     "record that caused it"};
  }
}
}  // namespace

result<std::unique_ptr<connector_hub>> connector_hub::start(connectors_config cfg, store& db, memory::dead_letters& dlq,
                                                            inbox_pump::deliver_fn deliver) {
  std::unique_ptr<connector_hub> h(new connector_hub());
  auto in = event_inbox::open(db, dlq);
  if (!in) return in.err();
  h->inbox_ = std::move(in.value());
  auto w = webhook_ingress::create(*h->inbox_, db, std::move(cfg.webhooks));
  if (!w) return w.err();
  h->ingress_ = std::move(w.value());
  auto now = std::chrono::steady_clock::now();
  auto add = [&](std::unique_ptr<connector> c) {
    auto& p = h->pulls_[c->name()];
    p.every = cfg.every[c->name()];
    p.next = p.every.count() > 0 ? now : std::chrono::steady_clock::time_point::max();
    p.conn = std::move(c);
  };
  for (auto& f : cfg.files) add(make_file_connector(std::move(f), *h->inbox_, db));
  for (auto& p : cfg.polls) add(make_http_poll_connector(std::move(p), *h->inbox_, db));
  for (auto& m : cfg.maildirs) add(make_maildir_connector(std::move(m), *h->inbox_, db));
  h->runner_ = std::thread([hub = h.get()] { hub->run(); });
  h->pump_ = std::make_unique<inbox_pump>(*h->inbox_, std::move(deliver));
  return h;
}

connector_hub::~connector_hub() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (runner_.joinable()) runner_.join();
  pump_.reset();
}

std::size_t connector_hub::hook_body_limit(const std::string& path) const { return ingress_->body_limit(path); }

void connector_hub::serve_hook(const httpd::request& req, httpd::response& res) { ingress_->serve(req, res); }

bool connector_hub::has_webhooks() const { return !ingress_->states().empty(); }

status connector_hub::request_sync(const std::string& name, bool full, done_fn done) {
  std::lock_guard lock(mu_);
  if (pulls_.find(name) == pulls_.end()) {
    if (ingress_->find(name) != nullptr)
      return error{errc::bad_request, "'" + name + "' is a webhook source: senders push to it; there is nothing to sync"};
    std::string known;
    for (const auto& [n, p] : pulls_) known += (known.empty() ? "" : ", ") + n;
    return error{errc::not_found, "no connector '" + name + "'" +
                                      (known.empty() ? "; none are configured (connectors: in the node config)"
                                                     : "; pull connectors: " + known)};
  }
  queue_.push_back({name, full, std::move(done)});
  cv_.notify_all();
  return ok_v;
}

void connector_hub::run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    request next;
    bool have = false;
    if (!queue_.empty()) {
      next = std::move(queue_.front());
      queue_.pop_front();
      have = true;
    } else {
      auto soonest = std::chrono::steady_clock::time_point::max();
      for (auto& [n, p] : pulls_)
        if (p.next <= std::chrono::steady_clock::now()) {
          next.name = n;
          have = true;
          break;
        } else {
          soonest = std::min(soonest, p.next);
        }
      if (!have) {
        if (soonest == std::chrono::steady_clock::time_point::max()) cv_.wait(lock);
        else cv_.wait_until(lock, soonest);
        continue;
      }
    }
    auto& p = pulls_[next.name];
    p.running = true;
    lock.unlock();
    auto r = sync_guarded(*p.conn, next.full);
    if (!r) spdlog::warn("connector {}: sync failed: {}", next.name, r.err().message);
    else spdlog::info("connector {}: {} records in, {} events out, {} duplicates, {} dead-lettered", next.name,
                      r->records_in, r->events_out, r->duplicates, r->dead_lettered);
    if (next.done) next.done(std::move(r));
    lock.lock();
    p.running = false;
    p.next = p.every.count() > 0 ? std::chrono::steady_clock::now() + p.every : std::chrono::steady_clock::time_point::max();
  }
}

nlohmann::json connector_hub::status() const {
  nlohmann::json out = nlohmann::json::array();
  std::map<std::string, nlohmann::json> rows;
  for (const auto& s : ingress_->states()) {
    auto j = s.to_json();
    j["every_ms"] = 0;
    j["next_sync_ms"] = 0;
    rows[s.name] = std::move(j);
  }
  std::lock_guard lock(mu_);
  for (const auto& [name, p] : pulls_) {
    auto st = p.conn->state();
    nlohmann::json j = st ? st->to_json() : nlohmann::json{{"name", name}, {"kind", p.conn->kind()},
                                                           {"status", "error"}, {"last_error", st.err().message}};
    if (p.running) j["status"] = "syncing";
    bool queued = false;
    for (const auto& q : queue_) queued = queued || q.name == name;
    j["queued"] = queued;
    j["every_ms"] = p.every.count();
    j["next_sync_ms"] = p.next == std::chrono::steady_clock::time_point::max() ? 0 : wall_ms(p.next);
    rows[name] = std::move(j);
  }
  for (auto& [n, j] : rows) out.push_back(std::move(j));
  return out;
}

}  // namespace keel::connectors
