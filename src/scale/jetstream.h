// Thin C++ wrapper over the NATS C client (libnats) for what the scale roles
// need: connect to a cluster, create/update a replicated stream, publish with
// a message id and wait for the JetStream ack, and pull-consume with explicit
// acks. <nats/nats.h> stays in jetstream.cc.
//
// Failure: anything the cluster does not confirm (timeouts, no responders,
// connection loss, no quorum) is UNAVAILABLE: the caller may retry, and a
// retried publish with the same message id is deduplicated by the stream.
// The connection reconnects forever in the background (to any listed server).
//
// Ownership: JetStream owns its connection; a PullConsumer borrows the
// JetStream, which must outlive it.
// Thread-safety: JetStream::Publish is safe for concurrent use (libnats
// connections are thread-safe); a PullConsumer is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace::scale {

struct StreamSpec {
  std::string name;
  std::vector<std::string> subjects;
  int replicas = 3;
  int64_t duplicate_window_ms = 10 * 60 * 1000;
  int32_t max_msg_bytes = 1 << 20;
  bool memory = false;     // file storage unless true
  int64_t max_age_ms = 0;  // 0 = keep until limits; else messages older than this are removed
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// One message handed to a Fetch callback; valid only inside the callback.
class JsMessage {
 public:
  virtual ~JsMessage() = default;
  virtual std::string_view data() const = 0;
  // Header value or "" if absent.
  virtual std::string header(const std::string& key) const = 0;
  virtual Headers headers() const = 0;
  virtual uint64_t num_delivered() const = 0;
  virtual uint64_t stream_sequence() const = 0;
  // Acknowledges and waits for the server to confirm the ack.
  virtual absl::Status Ack() = 0;
  // Asks for redelivery after `delay_ms`.
  virtual absl::Status Nak(int64_t delay_ms) = 0;
  // Never redeliver.
  virtual absl::Status Term() = 0;
  // Resets the ack timer (long work in progress).
  virtual absl::Status InProgress() = 0;
};

class JetStream;

class PullConsumer {
 public:
  ~PullConsumer();
  // Fetches up to `batch` messages, waiting at most `timeout_ms`, and calls `fn`
  // on each. OK with no calls on timeout; UNAVAILABLE if the cluster is unreachable.
  absl::Status Fetch(int batch, int64_t timeout_ms, const std::function<void(JsMessage&)>& fn);

 private:
  friend class JetStream;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ConsumerSpec {
  std::string stream;
  std::string subject;  // filter subject
  std::string durable;  // durable consumer name, shared by all writers
  int64_t ack_wait_ms = 10000;
  int64_t max_ack_pending = 1000;
};

class JetStream {
 public:
  // `urls`: nats://host:port of the cluster's servers; `client_name` shows in
  // the server's monitoring.
  static absl::StatusOr<std::unique_ptr<JetStream>> Connect(const std::vector<std::string>& urls,
                                                            const std::string& client_name,
                                                            int64_t request_timeout_ms = 5000);
  ~JetStream();

  // Creates the stream, or updates it when it exists with other settings.
  absl::Status EnsureStream(const StreamSpec& spec);

  struct PubAck {
    uint64_t sequence = 0;
    bool duplicate = false;  // the stream had this message id within its window
  };
  // Publishes and waits for the stream's ack (stored on a quorum of replicas).
  absl::StatusOr<PubAck> Publish(const std::string& subject, std::string_view data,
                                 const Headers& headers, const std::string& msg_id,
                                 int64_t timeout_ms);

  absl::StatusOr<std::unique_ptr<PullConsumer>> PullSubscribe(const ConsumerSpec& spec);

  // Number of messages currently in a stream (tests, reports).
  absl::StatusOr<uint64_t> StreamMessages(const std::string& stream);
  // Reads a stream message by sequence (tests, parked-message listing).
  absl::StatusOr<std::pair<std::string, Headers>> GetMessage(const std::string& stream,
                                                             uint64_t seq);

  bool connected() const;

 private:
  struct Impl;
  explicit JetStream(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sealtrace::scale
