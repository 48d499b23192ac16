// `sealtrace server`: runs the embedded vault (ingest, enrolment, health, metrics)
// until SIGINT or SIGTERM, then stops gracefully (in-flight requests finish).
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "vault/server.h"
#include "vault/vault.h"

namespace sealtrace::cli {
namespace {

struct ServerFlags {
  std::string data;
  std::string listen = "127.0.0.1:8420";
  std::string key_file;
  bool allow_plain_http = false;
};

// "host:port" or "[v6]:port".
bool ParseListen(const std::string& s, std::string* host, int* port) {
  std::string p;
  if (!s.empty() && s[0] == '[') {
    size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') return false;
    *host = s.substr(1, close - 1);
    p = s.substr(close + 2);
  } else {
    size_t colon = s.rfind(':');
    if (colon == std::string::npos || colon == 0) return false;
    *host = s.substr(0, colon);
    p = s.substr(colon + 1);
    if (host->find(':') != std::string::npos) return false;  // bare IPv6 needs brackets
  }
  if (p.empty() || p.size() > 5) return false;
  int v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 65535) return false;
  *port = v;
  return true;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  in_addr a4;
  if (inet_pton(AF_INET, host.c_str(), &a4) == 1) {
    return (ntohl(a4.s_addr) >> 24) == 127;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, host.c_str(), &a6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) return a6.s6_addr[12] == 127;
  }
  return false;
}

int RunServer(const ServerFlags& f) {
  std::string host;
  int port = 0;
  if (!ParseListen(f.listen, &host, &port)) {
    std::cerr << "sealtrace server: --listen must be HOST:PORT (or [IPv6]:PORT), got \"" << f.listen
              << "\"\n";
    return 2;
  }
  if (!IsLoopback(host) && !f.allow_plain_http) {
    std::cerr << "sealtrace server: refusing to listen on " << host
              << ": this build of the vault speaks plain HTTP (TLS arrives with the access\n"
                 "layer), so device tokens, the enrolment secret and segment uploads would cross\n"
                 "the network unencrypted. Listen on a loopback address (127.0.0.1, ::1,\n"
                 "localhost), or pass --allow-plain-http if a TLS-terminating proxy or a private\n"
                 "network protects the traffic.\n";
    return 2;
  }
  if (!IsLoopback(host)) {
    spdlog::warn("listening on non-loopback {} over plain HTTP (--allow-plain-http)", host);
  }

  // Block SIGINT/SIGTERM before any thread starts, so every thread inherits the
  // mask and only the waiter below sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  vault::VaultOptions opts;
  opts.data_dir = f.data;
  opts.key_file = f.key_file;
  auto v = vault::Vault::Open(opts);
  if (!v.ok()) {
    std::cerr << "sealtrace server: cannot open the vault in " << f.data << ": "
              << v.status().message() << "\n";
    return 1;
  }
  vault::VaultServer server(v->get());
  auto bound = server.Bind(host, port);
  if (!bound.ok()) {
    std::cerr << "sealtrace server: " << bound.status().message() << "\n";
    return 1;
  }
  std::string shown_host = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  std::cout << "sealtrace vault listening on http://" << shown_host << ":" << *bound << "\n"
            << "  data directory:    " << f.data << "\n"
            << "  enrolment secret:  " << (*v)->enroll_secret_path()
            << " (give it only to whoever enrols devices)\n"
            << "  stop with Ctrl-C or SIGTERM\n"
            << std::flush;
  spdlog::info("vault listening on http://{}:{}", shown_host, *bound);

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    timespec tick{0, 200 * 1000 * 1000};
    while (!done.load()) {
      int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        spdlog::info("received {}, stopping (in-flight requests finish)",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        server.Stop();
        return;
      }
    }
  });
  absl::Status s = server.Serve();
  done = true;
  waiter.join();
  if (!s.ok()) {
    std::cerr << "sealtrace server: " << s.message() << "\n";
    return 1;
  }
  spdlog::info("vault stopped");
  return 0;
}

}  // namespace

void RegisterServerCommand(CLI::App& app) {
  auto flags = std::make_shared<ServerFlags>();
  CLI::App* cmd = app.add_subcommand(
      "server",
      "Run the embedded vault: device enrolment, sealed-segment ingest (never decrypts),\n"
      "health and Prometheus metrics, over HTTP. Creates DIR, its master key file (0600)\n"
      "and enrolment secret (DIR/enroll.secret, 0600) at first start.");
  cmd->add_option("--data", flags->data, "Vault data directory (metadata, blobs, keys)")
      ->required();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on (port 0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--key-file", flags->key_file,
                  "Master key file (default DIR/keys/master.key); must be mode 0600");
  cmd->add_flag("--allow-plain-http", flags->allow_plain_http,
                "Allow a non-loopback --listen address although traffic is not encrypted");
  cmd->callback([flags] {
    int rc = RunServer(*flags);
    if (rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace sealtrace::cli
