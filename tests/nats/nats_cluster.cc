#include "nats/nats_cluster.h"

#include <signal.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "pg/subprocess.h"
#include "scale/jetstream.h"

namespace sealtrace::testing {
namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<NatsCluster>> NatsCluster::Start(int n) {
  std::unique_ptr<NatsCluster> c(new NatsCluster());
  std::string tmpl = (fs::temp_directory_path() / "sealtrace-nats-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return absl::InternalError("mkdtemp failed");
  c->dir_ = tmpl;
  c->nodes_.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Node& node = c->nodes_[static_cast<size_t>(i)];
    node.name = "n" + std::to_string(i + 1);
    node.client_port = FreeLoopbackPort();
    node.cluster_port = FreeLoopbackPort();
  }
  for (int i = 0; i < n; ++i) {
    Node& node = c->nodes_[static_cast<size_t>(i)];
    std::string routes;
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      routes += "    nats-route://127.0.0.1:" +
                std::to_string(c->nodes_[static_cast<size_t>(j)].cluster_port) + "\n";
    }
    const std::string nd = c->dir_ + "/" + node.name;
    fs::create_directories(nd + "/js");
    node.config = nd + "/nats.conf";
    std::ofstream f(node.config);
    f << "server_name: " << node.name << "\n"
      << "listen: 127.0.0.1:" << node.client_port << "\n"
      << "max_payload: 8MB\n"
      << "jetstream {\n  store_dir: \"" << nd << "/js\"\n  max_memory_store: 64MB\n"
      << "  max_file_store: 2GB\n}\n"
      << "cluster {\n  name: sealtrace-test\n  listen: 127.0.0.1:" << node.cluster_port
      << "\n  routes: [\n"
      << routes << "  ]\n}\n";
    if (!f) return absl::InternalError("cannot write " + node.config);
  }
  for (int i = 0; i < n; ++i) {
    if (auto s = c->RestartNode(i); !s.ok()) return s;
  }
  if (auto s = c->WaitReady(); !s.ok()) return s;
  return c;
}

NatsCluster::~NatsCluster() {
  for (auto& node : nodes_) KillProcess(node.pid, SIGKILL);
  if (!dir_.empty() && getenv("SEALTRACE_KEEP_TEST_DIRS") == nullptr) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::vector<std::string> NatsCluster::ClientUrls() const {
  std::vector<std::string> out;
  for (const auto& node : nodes_) {
    out.push_back("nats://127.0.0.1:" + std::to_string(node.client_port));
  }
  return out;
}

absl::Status NatsCluster::KillNode(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  KillProcess(node.pid, SIGKILL);
  node.pid = -1;
  return absl::OkStatus();
}

absl::Status NatsCluster::RestartNode(int i) {
  Node& node = nodes_.at(static_cast<size_t>(i));
  if (node.pid > 0) return absl::FailedPreconditionError("node is running");
  const char* bin = getenv("SEALTRACE_NATS_SERVER");
  auto pid = SpawnProcess({bin && *bin ? bin : "nats-server", "-c", node.config},
                          dir_ + "/" + node.name + "/server.log");
  if (!pid.ok()) return pid.status();
  node.pid = *pid;
  return absl::OkStatus();
}

absl::Status NatsCluster::WaitReady() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  absl::Status last = absl::UnavailableError("not tried");
  while (std::chrono::steady_clock::now() < deadline) {
    auto js = scale::JetStream::Connect(ClientUrls(), "fixture-probe", 2000);
    if (js.ok()) {
      scale::StreamSpec probe{"FIXTURE_PROBE", {"fixture.probe"}, size(), 1000, 1024, false};
      last = (*js)->EnsureStream(probe);
      if (last.ok()) return absl::OkStatus();
    } else {
      last = js.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return absl::DeadlineExceededError("NATS cluster not ready: " + std::string(last.message()));
}

}  // namespace sealtrace::testing
