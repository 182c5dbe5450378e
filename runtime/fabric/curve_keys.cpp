#include "runtime/fabric/curve_keys.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <zmq.h>

namespace keel {

bool valid_z85_key(const std::string& key) {
  if (key.size() != 40) return false;
  unsigned char raw[32];
  return zmq_z85_decode(raw, key.c_str()) != nullptr;
}

result<curve_keypair> generate_keypair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0)
    return error{errc::internal, "libzmq cannot make CURVE keys (built without libsodium?)"};
  return curve_keypair{pub, sec};
}

status write_key_file(const std::string& path, const curve_keypair& keys) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return error{errc::io, errno == EEXIST ? "key file " + path + " already exists; keys are never overwritten: choose another --out"
                                            : "cannot create key file " + path + ": " + std::strerror(errno)};
  std::string text = "# Keel CurveZMQ key pair. Keep it secret: mode 0600, never commit it.\npublic: " + keys.public_key +
                     "\nsecret: " + keys.secret_key + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return error{errc::io, "cannot write key file " + path};
  return ok_v;
}

result<curve_keypair> read_key_file(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return error{errc::config, "key file " + path + " not found; make one with `keel keygen --out " + path + "`"};
  if (st.st_mode & (S_IRWXG | S_IRWXO))
    return error{errc::config, "key file " + path + " is readable by others; run `chmod 600 " + path + "`"};
  std::ifstream in(path);
  curve_keypair k;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("public: ", 0) == 0) k.public_key = line.substr(8);
    if (line.rfind("secret: ", 0) == 0) k.secret_key = line.substr(8);
  }
  if (!valid_z85_key(k.public_key) || !valid_z85_key(k.secret_key))
    return error{errc::config, "key file " + path + " is not a Keel key file (expected public: and secret: lines); make one with `keel keygen`"};
  return k;
}

bool is_loopback_endpoint(const std::string& ep) {
  if (ep.rfind("ipc://", 0) == 0 || ep.rfind("inproc://", 0) == 0) return true;
  if (ep.rfind("tcp://", 0) != 0) return false;
  auto host = ep.substr(6, ep.rfind(':') == std::string::npos ? std::string::npos : ep.rfind(':') - 6);
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

std::string local_endpoint_of(const std::string& listen) {
  const std::string scheme = "tcp://";
  auto colon = listen.rfind(':');
  if (listen.rfind(scheme, 0) != 0 || colon == std::string::npos || colon < scheme.size()) return listen;
  auto host = listen.substr(scheme.size(), colon - scheme.size());
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  in_addr v4{};
  in6_addr v6{};
  bool any = host == "*" || (::inet_pton(AF_INET, host.c_str(), &v4) == 1 && v4.s_addr == htonl(INADDR_ANY)) ||
             (::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&v6));
  return any ? scheme + "127.0.0.1" + listen.substr(colon) : listen;
}

int endpoint_port(const std::string& ep) {
  if (ep.rfind("tcp://", 0) != 0) return 0;
  auto colon = ep.rfind(':');
  if (colon == std::string::npos || colon < 6 || colon + 1 >= ep.size() || ep.size() - colon > 6) return 0;
  int port = 0;
  for (auto c : ep.substr(colon + 1)) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + (c - '0');
  }
  return port <= 65535 ? port : 0;
}

result<std::optional<curve_client_keys>> client_keys_from_data_dir(const std::string& dir, bool required) {
  namespace fs = std::filesystem;
  auto admin = fs::path(dir) / "keys" / "admin.key";
  auto pub = fs::path(dir) / "node.pub";
  std::error_code ec;
  if (!fs::exists(admin, ec) || !fs::exists(pub, ec)) {
    if (!required) return std::optional<curve_client_keys>();
    return error{errc::not_found, "no node keys in " + (fs::path(dir) / "keys").string() +
                                      "; give the data dir of a node started without --insecure, or pass --key and --server-key"};
  }
  std::ifstream in(pub);
  std::string server;
  std::getline(in, server);
  if (!valid_z85_key(server))
    return error{errc::bad_request, pub.string() + " does not hold a CURVE public key; restart the node to rewrite it"};
  auto own = read_key_file(admin.string());
  if (!own) return own.err();
  return std::optional<curve_client_keys>(curve_client_keys{server, *own});
}

}  // namespace keel
