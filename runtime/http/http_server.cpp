// The server of http_server.hpp. Everything that touches a socket runs on
// the one I/O thread (io_context::run), so connection state needs no locks;
// lanes are the only shared state and have their own mutex. A connection
// moves through phases:
//
//   head ──▶ body ──▶ handling (a lane has it) ──▶ writing ──▶ head (keep-alive)
//     │        │                                      │
//     └────────┴── deadline, error, eviction ─────────┴──▶ closed
//
// Deadlines are beast::tcp_stream expiries: one covers the whole head (set
// once, not per read), one the body, one the write; none runs while a
// handler has the request. Eviction only takes connections in `head` (or
// lingering after a refused body): those have not given a worker anything.
#include "runtime/http/http_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include "runtime/http/http_text.hpp"

namespace keel::httpd {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

// After a refused body the client may still be sending it: reading (and
// dropping) it for a moment before closing lets the client see the answer
// instead of a reset.
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 16 << 20;

// A parse error (the client sent something that is not HTTP), as opposed
// to the connection ending or timing out.
bool malformed(beast::error_code ec) {
  return ec && ec.category() == beast::error_code(bhttp::error::bad_target).category() &&
         ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

}  // namespace

// --- lanes ---

class connection;

namespace {

struct job {
  std::shared_ptr<connection> conn;
  std::shared_ptr<request> req;
};

class lane {
 public:
  lane(lane_options opts, std::function<void(job)> run) : opts_(std::move(opts)), run_(std::move(run)) {
    for (int i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~lane() { stop(); }

  // False when the queue is full or the lane is stopping. Jobs that a free
  // worker is about to take do not count against the queue: a burst on a
  // lane with free workers is not refused. Free means not running a job, so
  // a worker thread that has not yet reached its first wait (a busy machine,
  // a server just started) counts as free too.
  bool offer(job j) {
    {
      std::lock_guard lock(mu_);
      auto free = static_cast<std::size_t>(opts_.threads) - running_;
      if (stopping_ || queue_.size() >= free + opts_.queue) return false;
      queue_.push_back(std::move(j));
    }
    cv_.notify_one();
    return true;
  }

  // Lets the jobs in progress finish, drops the queued ones, joins.
  void stop() {
    std::deque<job> dropped;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  const std::string& name() const { return opts_.name; }
  bool runs_inline() const { return opts_.threads == 0; }

 private:
  void work() {
    while (true) {
      job j;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        j = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
      }
      run_(std::move(j));
      std::lock_guard lock(mu_);
      --running_;
    }
  }

  lane_options opts_;
  std::function<void(job)> run_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  std::size_t running_ = 0;  // workers running a job
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

// --- the server's shared state (I/O thread only, except where noted) ---

struct server::impl {
  server_options opts;
  chooser choose;
  handler handle;
  asio::io_context io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_pause{io};
  std::optional<asio::ssl::context> tls;  // set: every connection is TLS
  std::thread io_thread;
  std::vector<std::unique_ptr<lane>> lanes;
  int port = 0;
  bool stopping = false;  // I/O thread
  std::atomic<bool> stopped{false};
  std::mutex stop_mu;

  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<connection>> conns;
  std::unordered_map<std::string, int> per_client;

  struct {
    std::atomic<std::uint64_t> accepted{0}, evicted{0}, refused{0}, timed_out{0}, bad_requests{0}, busy{0}, requests{0};
    std::atomic<int> open{0};
  } count;

  void accept_next();
  void admit(tcp::socket socket);
  connection* oldest_evictable(const std::string* client);
  void forget(std::uint64_t id, const std::string& client);
  void run_job(job j);
};

// A client connection as the server's bookkeeping sees it (eviction,
// counting, stopping); stream_connection below reads and writes it, over
// plain TCP or TLS.
class connection : public std::enable_shared_from_this<connection> {
 public:
  enum class phase { head, body, handling, writing, lingering, closed };

  connection(server::impl& srv, std::uint64_t id, std::string client, int client_port)
      : srv_(srv), id_(id), client_(std::move(client)), client_port_(client_port) {}
  virtual ~connection() = default;

  std::uint64_t id() const { return id_; }
  const std::string& client() const { return client_; }
  phase state() const { return phase_; }
  steady::time_point waiting_since() const { return waiting_since_; }
  // Has given no worker anything: may be closed to make room.
  bool evictable() const { return phase_ == phase::head || phase_ == phase::lingering; }

  virtual void start() = 0;
  // Closes the socket now; pending operations end with operation_aborted.
  virtual void close() = 0;
  // The worker's response, on the I/O thread.
  virtual void respond(response res) = 0;

 protected:
  server::impl& srv_;
  std::uint64_t id_;
  std::string client_;
  int client_port_;
  phase phase_ = phase::head;
  steady::time_point waiting_since_ = steady::now();
};

template <class Stream>
class stream_connection final : public connection {
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  template <class... StreamArgs>
  stream_connection(server::impl& srv, std::uint64_t id, std::string client, int client_port, StreamArgs&&... args)
      : connection(srv, id, std::move(client), client_port), stream_(std::forward<StreamArgs>(args)...) {}

  void start() override {
    lowest().expires_after(srv_.opts.head_timeout);  // the handshake counts against the head's deadline
    if constexpr (tls) {
      stream_.async_handshake(asio::ssl::stream_base::server, [self = me()](beast::error_code ec) {
        if (ec) return self->end(ec);
        self->read_head();
      });
    } else {
      read_head();
    }
  }

  void close() override {
    if (phase_ == phase::closed) return;
    phase_ = phase::closed;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
    srv_.forget(id_, client_);
  }

  void respond(response res) override {
    if (phase_ != phase::handling) return;  // closed meanwhile (the server is stopping)
    write(std::move(res));
  }

 private:
  std::shared_ptr<stream_connection> me() { return std::static_pointer_cast<stream_connection>(shared_from_this()); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read_head() {
    phase_ = phase::head;
    waiting_since_ = steady::now();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(srv_.opts.max_head_bytes, UINT32_MAX)));
    // The route's limit is applied once the head says where the request
    // goes; until then Beast must not check Content-Length against its own
    // default. (Not boost::none: Beast 1.74 compares the length with the
    // optional itself, and every length is greater than none.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = me()](beast::error_code ec, std::size_t) { self->on_head(ec); });
  }

  // A kept-alive connection: wait (idle_timeout) for the next request's first
  // byte, then give its head the full head_timeout.
  void await_next() {
    phase_ = phase::head;
    waiting_since_ = steady::now();
    if (buffer_.size() > 0) {  // pipelined: already here
      lowest().expires_after(srv_.opts.head_timeout);
      return read_head();
    }
    lowest().expires_after(srv_.opts.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = me()](beast::error_code ec, std::size_t n) {
      if (ec) return self->end(ec);
      self->buffer_.commit(n);
      self->lowest().expires_after(self->srv_.opts.head_timeout);
      self->read_head();
    });
  }

  // Ends the connection after a failed read or write.
  void end(beast::error_code ec) {
    if (ec == beast::error::timeout) ++srv_.count.timed_out;
    close();
  }

  void on_head(beast::error_code ec) {
    if (phase_ == phase::closed) return;
    if (ec == bhttp::error::header_limit) return refuse(431, "the request head is larger than " +
                                                                 std::to_string(srv_.opts.max_head_bytes) + " bytes");
    if (malformed(ec)) return refuse(400, "malformed request: " + ec.message());
    if (ec) return end(ec);

    auto& msg = parser_->get();
    version_ = msg.version();
    is_head_ = msg.method() == bhttp::verb::head;
    auto req = std::make_shared<request>();
    req->method = std::string(msg.method_string());
    req->target = std::string(msg.target());
    auto split = split_target(req->target);
    req->path = std::move(split.path);
    req->params = parse_query(split.query);
    for (const auto& f : msg) req->headers.add(std::string(f.name_string()), std::string(f.value()));
    req->remote_addr = client_;
    req->remote_port = client_port_;
    if (msg.method() != bhttp::verb::get && msg.method() != bhttp::verb::head && msg.method() != bhttp::verb::post) {
      response res;
      res.status = 405;
      res.set_header("Allow", "GET, HEAD, POST");
      res.set_content("method " + req->method + " is not served here\n", "text/plain");
      ++srv_.count.bad_requests;
      keep_alive_ = false;
      unread_body_ = true;
      return write(std::move(res));
    }

    route_choice choice;
    try {
      choice = srv_.choose(*req);
    } catch (const std::exception& e) {
      spdlog::error("http: choosing a route for {} {} threw: {}", req->method, req->path, e.what());
      return refuse(500, "internal error");
    }
    if (choice.lane >= srv_.lanes.size()) choice.lane = 0;
    lane_ = choice.lane;
    keep_alive_ = msg.keep_alive();

    auto length = parser_->content_length();
    if (parser_->is_done()) return dispatch(std::move(req));  // no body
    if (length && *length > choice.max_body_bytes) return too_large(std::move(req));
    parser_->body_limit(choice.max_body_bytes);
    phase_ = phase::body;
    lowest().expires_after(srv_.opts.body_timeout);
    auto expect = msg[bhttp::field::expect];
    if (iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, version_);
      return bhttp::async_write(stream_, *cont, [self = me(), cont, req](beast::error_code ec, std::size_t) {
        if (ec) return self->end(ec);
        self->read_body(req);
      });
    }
    read_body(std::move(req));
  }

  void read_body(std::shared_ptr<request> req) {
    bhttp::async_read(stream_, buffer_, *parser_, [self = me(), req](beast::error_code ec, std::size_t) {
      if (self->phase_ == phase::closed) return;
      if (ec == bhttp::error::body_limit) return self->too_large(req);
      if (malformed(ec)) return self->refuse(400, "malformed request body: " + ec.message());
      if (ec) return self->end(ec);
      req->body = std::move(self->parser_->get().body());
      self->dispatch(req);
    });
  }

  // The body is over the route's limit: the handler decides the answer
  // (413, or 404 for a route that does not exist), without the body.
  void too_large(std::shared_ptr<request> req) {
    req->body.clear();
    req->body_too_large = true;
    keep_alive_ = false;
    unread_body_ = true;
    dispatch(std::move(req));
  }

  void dispatch(std::shared_ptr<request> req) {
    phase_ = phase::handling;
    lowest().expires_never();
    if (srv_.lanes[lane_]->runs_inline()) {
      ++srv_.count.requests;
      srv_.run_job({shared_from_this(), std::move(req)});
      return;
    }
    if (srv_.lanes[lane_]->offer({shared_from_this(), req})) {
      ++srv_.count.requests;
      return;
    }
    ++srv_.count.busy;
    response res;
    res.status = 503;
    res.set_header("Retry-After", "1");
    res.set_content("busy: too many requests for " + srv_.lanes[lane_]->name() + "; retry in a second\n", "text/plain");
    write(std::move(res));
  }

  // Answers a request that cannot be served (a malformed head or body) and closes.
  void refuse(int status, const std::string& why) {
    ++srv_.count.bad_requests;
    response res;
    res.status = status;
    res.set_content(why + "\n", "text/plain");
    keep_alive_ = false;
    unread_body_ = true;
    phase_ = phase::handling;
    write(std::move(res));
  }

  void write(response res) {
    auto msg = std::make_shared<bhttp::response<bhttp::string_body>>();
    msg->version(version_);
    msg->result(static_cast<unsigned>(res.status >= 100 && res.status <= 999 ? res.status : 500));
    for (const auto& [n, v] : res.headers.all()) msg->insert(n, v);
    bool keep = keep_alive_ && !srv_.stopping;
    msg->keep_alive(keep);
    bool no_body = res.status < 200 || res.status == 204 || res.status == 304;
    if (!no_body) msg->content_length(res.body.size());
    if (!no_body && !is_head_) msg->body() = std::move(res.body);
    phase_ = phase::writing;
    lowest().expires_after(srv_.opts.write_timeout);
    bhttp::async_write(stream_, *msg, [self = me(), msg, keep](beast::error_code ec, std::size_t) {
      if (self->phase_ == phase::closed) return;
      if (ec) return self->end(ec);
      if (keep) return self->await_next();
      if (self->unread_body_) return self->linger();
      self->close();
    });
  }

  // Half-closes, then reads and drops what the client still sends, until
  // it closes too, or linger_time or linger_bytes run out.
  void linger() {
    phase_ = phase::lingering;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().expires_after(linger_time);
    drain();
  }

  void drain() {
    stream_.async_read_some(asio::buffer(discard_), [self = me()](beast::error_code ec, std::size_t n) {
      if (self->phase_ == phase::closed) return;
      self->drained_ += n;
      if (ec || self->drained_ > linger_bytes) return self->close();
      self->drain();
    });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  unsigned version_ = 11;
  bool is_head_ = false;
  bool keep_alive_ = false;
  bool unread_body_ = false;
  std::size_t lane_ = 0;
  std::array<char, 16384> discard_{};
  std::size_t drained_ = 0;
};

// --- server::impl ---

void server::impl::accept_next() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping) return;
    if (ec) {
      // Out of descriptors, most likely: pause instead of spinning on the error.
      spdlog::warn("http: accept failed on port {}: {}; pausing accepts for 100 ms", port, ec.message());
      accept_pause.expires_after(std::chrono::milliseconds(100));
      accept_pause.async_wait([this](beast::error_code e) {
        if (!e) accept_next();
      });
      return;
    }
    admit(std::move(socket));
    accept_next();
  });
}

connection* server::impl::oldest_evictable(const std::string* client) {
  connection* oldest = nullptr;
  for (const auto& [id, c] : conns)
    if (c->evictable() && (!client || c->client() == *client) && (!oldest || c->waiting_since() < oldest->waiting_since()))
      oldest = c.get();
  return oldest;
}

void server::impl::admit(tcp::socket socket) {
  ++count.accepted;
  beast::error_code ec;
  auto remote = socket.remote_endpoint(ec);
  if (ec) return;  // gone already
  auto client = remote.address().to_string();
  auto make_room = [&](const std::string* of_client) {
    if (auto* victim = oldest_evictable(of_client)) {
      ++count.evicted;
      victim->close();
      return true;
    }
    ++count.refused;
    socket.close(ec);
    return false;
  };
  if (per_client[client] >= opts.max_connections_per_client && !make_room(&client)) return;
  if (static_cast<int>(conns.size()) >= opts.max_connections && !make_room(nullptr)) return;
  socket.set_option(tcp::no_delay(true), ec);
  auto id = next_id++;
  std::shared_ptr<connection> c;
  if (tls) c = std::make_shared<stream_connection<beast::ssl_stream<beast::tcp_stream>>>(*this, id, client, remote.port(), std::move(socket), *tls);
  else c = std::make_shared<stream_connection<beast::tcp_stream>>(*this, id, client, remote.port(), std::move(socket));
  conns.emplace(id, c);
  ++per_client[client];
  ++count.open;
  c->start();
}

void server::impl::forget(std::uint64_t id, const std::string& client) {
  if (conns.erase(id) == 0) return;
  --count.open;
  if (auto it = per_client.find(client); it != per_client.end() && --it->second <= 0) per_client.erase(it);
}

void server::impl::run_job(job j) {
  response res;
  try {
    handle(*j.req, res);
  } catch (const std::exception& e) {
    spdlog::error("http: the handler of {} {} threw: {}", j.req->method, j.req->path, e.what());
    res = response{};
    res.status = 500;
    res.set_content("internal error\n", "text/plain");
  }
  asio::post(io, [conn = std::move(j.conn), res = std::move(res)]() mutable { conn->respond(std::move(res)); });
}

// --- server ---

server::server(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

server::~server() { stop(); }

result<std::unique_ptr<server>> server::start(server_options options, chooser choose, handler handle) {
  if (options.lanes.empty()) return error{errc::bad_request, "an HTTP server needs at least one worker lane"};
  for (const auto& l : options.lanes)
    if (l.threads < 0 || (l.threads > 0 && l.queue < 1))
      return error{errc::bad_request, "HTTP lane '" + l.name + "' needs 0 threads (inline) or a queue of at least one"};
  auto p = std::make_unique<impl>();
  p->opts = std::move(options);
  p->choose = std::move(choose);
  p->handle = std::move(handle);

  beast::error_code ec;
  if (!p->opts.tls_cert_file.empty() || !p->opts.tls_key_file.empty()) {
    p->tls.emplace(asio::ssl::context::tls_server);
    p->tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                        asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    p->tls->use_certificate_chain_file(p->opts.tls_cert_file, ec);
    if (ec) return error{errc::config, "TLS certificate " + p->opts.tls_cert_file + ": " + ec.message() + " (a PEM chain, server first)"};
    p->tls->use_private_key_file(p->opts.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return error{errc::config, "TLS key " + p->opts.tls_key_file + ": " + ec.message() + " (a PEM key matching the certificate)"};
  }
  auto address = asio::ip::make_address(p->opts.address, ec);
  if (ec) return error{errc::bad_request, "'" + p->opts.address + "' is not an IP address"};
  tcp::endpoint at(address, static_cast<unsigned short>(p->opts.port));
  auto where = p->opts.address + ":" + std::to_string(p->opts.port);
  p->acceptor.open(at.protocol(), ec);
  if (!ec) p->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) p->acceptor.bind(at, ec);
  if (!ec) p->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return error{errc::unavailable, "cannot listen on " + where + ": " + ec.message()};
  p->port = p->acceptor.local_endpoint().port();

  auto* raw = p.get();
  for (const auto& l : p->opts.lanes) p->lanes.push_back(std::make_unique<lane>(l, [raw](job j) { raw->run_job(std::move(j)); }));
  p->work.emplace(p->io.get_executor());
  p->accept_next();
  p->io_thread = std::thread([raw] {
    while (true) {
      try {
        raw->io.run();
        return;
      } catch (const std::exception& e) {  // a bug in a completion handler: log it and keep serving
        spdlog::error("http: the I/O thread caught: {}", e.what());
      }
    }
  });
  return std::unique_ptr<server>(new server(std::move(p)));
}

void server::stop() {
  auto& p = *impl_;
  std::lock_guard lock(p.stop_mu);
  if (p.stopped.exchange(true)) return;
  // 1. No new connections; close the ones no worker has.
  asio::post(p.io, [&p] {
    p.stopping = true;
    beast::error_code ec;
    p.acceptor.close(ec);
    p.accept_pause.cancel();
    std::vector<std::shared_ptr<connection>> idle;
    for (const auto& [id, c] : p.conns)
      if (c->state() != connection::phase::handling && c->state() != connection::phase::writing) idle.push_back(c);
    for (auto& c : idle) c->close();
  });
  // 2. Handlers in progress finish; queued requests are dropped.
  for (auto& l : p.lanes) l->stop();
  // 3. Whatever is left closes; the I/O thread ends when nothing is pending.
  asio::post(p.io, [&p] {
    std::vector<std::shared_ptr<connection>> all;
    for (const auto& [id, c] : p.conns) all.push_back(c);
    for (auto& c : all) c->close();
  });
  p.work.reset();
  if (p.io_thread.joinable()) p.io_thread.join();
}

int server::port() const { return impl_->port; }

server_counters server::counters() const {
  const auto& c = impl_->count;
  return {c.accepted.load(), c.evicted.load(), c.refused.load(), c.timed_out.load(), c.bad_requests.load(),
          c.busy.load(), c.requests.load(), c.open.load()};
}

}  // namespace keel::httpd
