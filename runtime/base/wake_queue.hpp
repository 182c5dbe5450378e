// A queue that many threads fill and one thread drains from its poll loop.
//
// push() may be called from any thread. The consumer polls fd() for POLLIN
// (it is an eventfd, so it fits into zmq::poll next to ZeroMQ sockets) and
// then calls take(), which hands over everything queued so far in one swap.
//
// Only the push into an empty queue writes the eventfd, so a burst costs
// one wake-up however long it is. take() clears the eventfd before it
// swaps: a push racing with take() either lands in this batch or finds the
// queue empty again and wakes the next poll. No wake-up is ever lost; a
// spurious one (take() finds nothing) is possible and harmless.
//
// Why not an inproc ZeroMQ PUSH/PULL pair: every inproc send and every
// empty receive goes through libzmq's mailbox, which calls getpid() and
// poll() each time (its fork check). On a paravirtualised VM each syscall
// costs microseconds; this costs one write to wake and one read to clear.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <vector>

namespace keel {

template <class T>
class wake_queue {
 public:
  // Throws std::system_error when no eventfd can be created (out of fds).
  wake_queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  }
  ~wake_queue() { ::close(fd_); }
  wake_queue(const wake_queue&) = delete;
  wake_queue& operator=(const wake_queue&) = delete;

  // Readable (POLLIN) while something was pushed or poke()d since the last take().
  int fd() const { return fd_; }

  void push(T v) {
    std::lock_guard<std::mutex> g(mu_);
    items_.push_back(std::move(v));
    if (items_.size() == 1) signal();
  }

  // Wakes the consumer without an item (e.g. to make it check a stop flag).
  void poke() { signal(); }

  // Replaces `out` with everything queued so far and clears the wake-up.
  void take(std::vector<T>& out) {
    std::uint64_t n = 0;
    while (::read(fd_, &n, sizeof n) < 0 && errno == EINTR) {
    }
    out.clear();
    std::lock_guard<std::mutex> g(mu_);
    out.swap(items_);
  }

  // The same without clearing the wake-up, for a consumer that is already
  // awake (no syscall): the next poll may then wake for nothing.
  void take_queued(std::vector<T>& out) {
    out.clear();
    std::lock_guard<std::mutex> g(mu_);
    out.swap(items_);
  }

 private:
  void signal() {
    std::uint64_t one = 1;
    while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  }

  int fd_;
  std::mutex mu_;
  std::vector<T> items_;
};

}  // namespace keel
