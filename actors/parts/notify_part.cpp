// The notifier as a child of the tree: one thread that sends what the
// monitor queued in the outbox (runtime/control/notify.hpp) by email and
// webhook, when plan_delivery says so (quiet hours, digest). A message
// leaves the outbox once every configured channel took it; a channel that
// failed is retried with a doubling wait (2 s up to 5 min) and never sent
// twice when another channel failed. Each delivery is an `effect` audit
// entry (channel, recipients or host, outcome), never the secret or URL.
// Runs even with notify off (it then only waits), so a reload can turn
// notify on.
#include <atomic>
#include <thread>

#include <spdlog/spdlog.h>

#include "actors/control/services.hpp"
#include "actors/part_actor.hpp"
#include "actors/parts/parts.hpp"
#include "adapters/actions/email_send.hpp"
#include "adapters/actions/smtp_client.hpp"
#include "runtime/base/crypto.hpp"
#include "runtime/base/duration.hpp"
#include "runtime/http/http_fetch.hpp"

namespace keel {

namespace {

using namespace std::chrono_literals;

status send_email(control_services& c, const control::notify_config::email_channel& e, const control::notify_message& m) {
  smtp::server srv;
  srv.host = e.host;
  srv.port = e.port;
  srv.starttls = e.starttls;
  srv.ca_file = e.ca_file;
  srv.username = e.username;
  if (!e.password.empty()) {
    auto pw = c.vault->resolve(e.password);
    if (!pw) return pw.err();
    srv.password = std::move(*pw);
  }
  outgoing_mail mail;
  mail.from = e.from;
  mail.to = e.to;
  mail.subject = m.subject();
  mail.text = m.body();
  mail.date_s = unix_now_ms() / 1000;
  mail.message_id = message_id_for("keel-notify:" + std::to_string(m.items.front().seq) + "-" +
                                       std::to_string(m.items.back().seq), e.from);
  auto text = render_mail(mail);
  if (!text) return text.err();
  auto sent = smtp::send(srv, {e.from, e.to, *text}, std::chrono::steady_clock::now() + 30s);
  if (!sent) return sent.err();
  return ok_v;
}

status send_webhook(control_services& c, const std::string& url_ref, const control::notify_message& m) {
  auto url = c.vault->resolve(url_ref);
  if (!url) return url.err();
  http::request req;
  req.method = "POST";
  req.url = *url;
  req.body = m.webhook_payload().dump();
  req.content_type = "application/json";
  req.timeout = 15s;
  auto r = http::fetch(req);
  if (!r) return r.err();
  if (r->status < 200 || r->status >= 300)
    return error{errc::unavailable, "the webhook answered HTTP " + std::to_string(r->status)};
  return ok_v;
}

struct notifier_part {
  control_services* c = nullptr;
  std::atomic<bool> stop{false};
  std::thread thread;
  std::int64_t retry_at_ms = 0;
  std::chrono::milliseconds backoff{2000};

  ~notifier_part() {
    stop = true;
    c->outbox->wake();
    if (thread.joinable()) thread.join();
  }

  // Sends one message on the channels that have not taken all of it yet.
  bool deliver(const control::notify_config& cfg, control::notify_message& m) {
    bool all = true;
    auto channel = [&](const char* name, const std::string& target, const std::function<status()>& send) {
      bool taken = std::all_of(m.items.begin(), m.items.end(), [&](const control::notification& n) {
        return std::find(n.sent_to.begin(), n.sent_to.end(), name) != n.sent_to.end();
      });
      if (taken) return;
      auto s = send();
      c->audit_event("effect", "notifier", std::string("notify.") + name,
                     {{"action", std::string("notify.") + name}, {"target", target}, {"items", m.items.size()},
                      {"outcome", s ? "ok" : s.err().code}, {"error", s ? std::string() : s.err().message}});
      if (!s) {
        spdlog::warn("notify: {} failed: {}", name, s.err().message);
        all = false;
        return;
      }
      for (auto& n : m.items) {
        n.sent_to.push_back(name);
        (void)c->outbox->update(n);
      }
    };
    if (cfg.email) {
      std::string to;
      for (const auto& a : cfg.email->to) to += (to.empty() ? "" : ",") + a;
      channel("email", to, [&] { return send_email(*c, *cfg.email, m); });
    }
    if (!cfg.webhook_url.empty()) {
      auto parsed = http::parse_url(cfg.webhook_url);  // a vault reference names itself, never the URL in it
      auto host = parsed ? parsed->host : cfg.webhook_url;
      channel("webhook", host, [&] { return send_webhook(*c, cfg.webhook_url, m); });
    }
    return all;
  }

  void run() {
    while (!stop) {
      auto cfg = c->notify.get();
      auto now = unix_now_ms();
      std::int64_t wake = now + 60'000;
      if (cfg->enabled() && now >= retry_at_ms) {
        auto plan = control::plan_delivery(*cfg, c->outbox->pending(1000), now);
        wake = plan.wake_ms;
        bool failed = false;
        for (auto& m : plan.messages) {
          if (stop || failed) break;
          if (!deliver(*cfg, m)) {
            failed = true;
            break;
          }
          std::vector<std::uint64_t> seqs;
          for (const auto& n : m.items) seqs.push_back(n.seq);
          if (auto s = c->outbox->done(seqs); !s) spdlog::error("notify: {}", s.err().message);
        }
        if (failed) {
          retry_at_ms = now + backoff.count();
          wake = retry_at_ms;
          backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5min);
        } else {
          backoff = 2000ms;
        }
      } else if (now < retry_at_ms) {
        wake = retry_at_ms;
      }
      c->outbox->wait_for(std::chrono::milliseconds(std::max<std::int64_t>(wake - unix_now_ms(), 10)));
    }
  }
};

const agent_contract contract{"the notifier: sends the monitor's alerts and new inbox items to the operator by email "
                              "and webhook, with quiet hours and digests",
                              "{\"ping\": true}", "yes"};

}  // namespace

result<child_handle> start_notify_part(caf::actor_system& sys, const agent_env& env) {
  auto part = std::make_shared<notifier_part>();
  part->c = env.ctx->control;
  part->thread = std::thread([p = part.get()] { p->run(); });
  auto actor = spawn_part_actor(sys, env, part_behaviour{contract, {}, {}});
  return child_handle{caf::actor_cast<caf::actor>(actor), std::move(part), {}};
}

}  // namespace keel
