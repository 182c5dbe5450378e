// Check-then-append under an exclusive flock, fsync before answering: the
// effect is durable when the result says so, and two executors racing on
// one key cannot both append.
#include "adapters/actions/file_append.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <cstring>
#include <fstream>

namespace keel {

namespace {

namespace fs = std::filesystem;

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    auto n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

class file_append_action final : public action {
 public:
  explicit file_append_action(std::string root) : root_(std::move(root)) {}
  const char* name() const override { return "file.append"; }

  result<nlohmann::json> run(const nlohmann::json& args, const action_context& ctx) const override {
    if (root_.empty())
      return error{errc::forbidden, "file.append is disabled: start the executor with --files-dir DIR"};
    if (!args.is_object() || !args.contains("file") || !args["file"].is_string() || !args.contains("line") ||
        !args["line"].is_string())
      return error{errc::bad_request, "file.append needs {\"file\": \"relative/path\", \"line\": \"text\"}"};
    auto rel = fs::path(args["file"].get<std::string>()).lexically_normal();
    if (rel.is_absolute() || rel.empty() || *rel.begin() == "..")
      return error{errc::forbidden, "file.append: '" + rel.string() + "' must be a relative path inside the files dir"};
    auto line = args["line"].get<std::string>();
    if (line.find('\n') != std::string::npos) return error{errc::bad_request, "file.append: the line must not contain a newline"};
    auto key = ctx.idempotency_key.empty() ? "task-" + std::to_string(ctx.task_id) : ctx.idempotency_key;
    auto path = fs::path(root_) / rel;
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);

    fd_guard fd(::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (fd.get() < 0) return error{errc::io, "file.append: cannot open " + path.string() + ": " + std::strerror(errno)};
    if (::flock(fd.get(), LOCK_EX) != 0) return error{errc::io, "file.append: cannot lock " + path.string()};
    {
      fd_guard inv(::open((path.string() + ".invocations").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
      if (inv.get() >= 0) (void)write_all(inv.get(), key + "\n");
    }
    std::ifstream in(path);
    const auto prefix = key + "\t";
    for (std::string l; std::getline(in, l);)
      if (l.compare(0, prefix.size(), prefix) == 0) return nlohmann::json{{"appended", false}, {"key", key}};
    if (!write_all(fd.get(), prefix + line + "\n") || ::fsync(fd.get()) != 0)
      return error{errc::io, "file.append: write to " + path.string() + " failed: " + std::strerror(errno)};
    return nlohmann::json{{"appended", true}, {"key", key}};
  }

 private:
  std::string root_;
};

}  // namespace

std::unique_ptr<action> make_file_append_action(std::string root_dir) {
  return std::make_unique<file_append_action>(std::move(root_dir));
}

}  // namespace keel
