// FreeLoopbackPort() for every test helper library (declared in
// tests/integration/harness.h and tests/pg/subprocess.h): one definition, so
// the whole-process and the PostgreSQL/NATS fixtures link together.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <set>

namespace sealtrace::testing {

int FreeLoopbackPort() {
  // Avoid handing out the same port twice within one test process.
  static std::set<int> given;
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0) {
      socklen_t len = sizeof(a);
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
      port = ntohs(a.sin_port);
    }
    close(fd);
    if (port > 0 && !given.count(port)) {
      given.insert(port);
      return port;
    }
  }
  return -1;
}

}  // namespace sealtrace::testing
