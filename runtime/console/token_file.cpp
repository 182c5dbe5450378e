// The login token file, DATA_DIR/console.token: private to the node's user
// (a file others can read is refused), written to a new 0600 file, synced
// and renamed over the old one, so a crash leaves the old token or the new.
#include "runtime/console/token_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace keel::console {

result<std::string> read_token_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return error{errc::not_found, path};
  if (st.st_mode & 077)
    return error{errc::io, path + " is readable by other users; make it private with `chmod 600 " + path +
                               "` or make a new token with `keelctl console token`"};
  std::ifstream in(path);
  std::string token;
  std::getline(in, token);
  if (token.size() < 32) return error{errc::io, path + " holds no valid token; delete it and restart the node to make one"};
  return token;
}

status write_token_file(const std::string& path, const std::string& token) {
  auto tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return error{errc::io, "cannot write " + tmp + ": " + std::strerror(errno)};
  auto text = token + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return error{errc::io, "cannot write " + path + ": " + std::strerror(errno)};
  }
  return ok_v;
}

}  // namespace keel::console
