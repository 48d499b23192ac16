// Test fixture: a 3-node NATS JetStream cluster on loopback.
//
// Start(): one config file per node (server_name, client port, cluster routes
// to the other nodes, jetstream store_dir in a temp dir), nats-server started
// per node, then waits until a stream with R=3 can be created (meta leader
// elected, all peers current). The destructor kills the nodes and removes the
// directory. KillNode()/RestartNode() crash and restart one node (same store).
//
// Binary: $SEALTRACE_NATS_SERVER, else nats-server on PATH.
// Thread-safety: none; use from the test thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::testing {

class NatsCluster {
 public:
  static absl::StatusOr<std::unique_ptr<NatsCluster>> Start(int nodes = 3);
  ~NatsCluster();

  std::vector<std::string> ClientUrls() const;
  const std::string& dir() const { return dir_; }
  int size() const { return static_cast<int>(nodes_.size()); }

  absl::Status KillNode(int i);  // SIGKILL
  absl::Status RestartNode(int i);

 private:
  struct Node {
    std::string name, config;
    int client_port = 0, cluster_port = 0;
    pid_t pid = -1;
  };
  NatsCluster() = default;
  absl::Status WaitReady();
  std::string dir_;
  std::vector<Node> nodes_;
};

}  // namespace sealtrace::testing
