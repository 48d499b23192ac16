#include "scale/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "common/env.h"
#include "vault/pg_metadata_store.h"
#include "vault/sqlite_metadata_store.h"

namespace sealtrace::scale {
namespace {

// Reads typed values from one table and records unknown keys.
class Reader {
 public:
  Reader(const toml::table* t, std::string prefix) : t_(t), prefix_(std::move(prefix)) {}

  template <typename T>
  void Get(const char* key, T* out) {
    seen_.insert(key);
    if (!t_ || !status_.ok()) return;
    const toml::node* n = t_->get(key);
    if (!n) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (auto v = n->value<std::string>()) {
        *out = *v;
        return;
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      if (auto v = n->value<bool>()) {
        *out = *v;
        return;
      }
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
      if (const toml::array* a = n->as_array()) {
        std::vector<std::string> v;
        for (const auto& e : *a) {
          auto s = e.value<std::string>();
          if (!s) return Fail(key, "must be an array of strings");
          v.push_back(*s);
        }
        *out = std::move(v);
        return;
      }
    } else {
      if (auto v = n->value<int64_t>()) {
        if (*v < 0) return Fail(key, "must not be negative");
        *out = static_cast<T>(*v);
        return;
      }
    }
    Fail(key, "has the wrong type");
  }

  void CheckUnknown() {
    if (!t_ || !status_.ok()) return;
    for (const auto& [k, v] : *t_) {
      if (!seen_.count(std::string(k.str()))) {
        status_ = absl::InvalidArgumentError("scale config: unknown key " + prefix_ +
                                             std::string(k.str()));
        return;
      }
    }
  }
  const absl::Status& status() const { return status_; }

 private:
  void Fail(const char* key, const char* why) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError("scale config: " + prefix_ + key + " " + why);
    }
  }
  const toml::table* t_;
  std::string prefix_;
  std::set<std::string> seen_;
  absl::Status status_;
};

}  // namespace

absl::StatusOr<ScaleConfig> ParseScaleConfig(const std::string& text) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "scale config: " << e.description() << " at line " << e.source().begin.line;
    return absl::InvalidArgumentError(os.str());
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(std::string("scale config: ") + e.what());
  }
  ScaleConfig c;
  Reader top(&root, "");
  top.Get("roles", &c.roles);
  for (const char* t : {"metadata", "blobs", "nats", "gateway", "writer"}) {
    if (root.get(t) && !root.get(t)->is_table()) {
      return absl::InvalidArgumentError(std::string("scale config: [") + t + "] must be a table");
    }
  }
  auto sub = [&](const char* name) { return root.get_as<toml::table>(name); };
  Reader m(sub("metadata"), "metadata.");
  m.Get("backend", &c.metadata.backend);
  m.Get("sqlite_path", &c.metadata.sqlite_path);
  m.Get("postgres", &c.metadata.postgres);
  m.Get("pool_size", &c.metadata.pool_size);
  Reader b(sub("blobs"), "blobs.");
  b.Get("backend", &c.blobs.backend);
  b.Get("dir", &c.blobs.dir);
  Reader n(sub("nats"), "nats.");
  n.Get("urls", &c.nats.urls);
  n.Get("stream", &c.nats.stream);
  n.Get("subject", &c.nats.subject);
  n.Get("park_stream", &c.nats.park_stream);
  n.Get("park_subject", &c.nats.park_subject);
  n.Get("replicas", &c.nats.replicas);
  n.Get("duplicate_window_s", &c.nats.duplicate_window_s);
  n.Get("max_msg_bytes", &c.nats.max_msg_bytes);
  n.Get("publish_timeout_ms", &c.nats.publish_timeout_ms);
  n.Get("max_age_s", &c.nats.max_age_s);
  Reader g(sub("gateway"), "gateway.");
  g.Get("listen", &c.gateway.listen);
  g.Get("allow_plain_http", &c.gateway.allow_plain_http);
  g.Get("inline_max_bytes", &c.gateway.inline_max_bytes);
  g.Get("max_segment_bytes", &c.gateway.max_segment_bytes);
  g.Get("threads", &c.gateway.threads);
  g.Get("enroll", &c.gateway.enroll);
  g.Get("key_file", &c.gateway.key_file);
  g.Get("hsm_module", &c.gateway.hsm_module);
  g.Get("hsm_token", &c.gateway.hsm_token);
  g.Get("hsm_pin_file", &c.gateway.hsm_pin_file);
  g.Get("enroll_secret_file", &c.gateway.enroll_secret_file);
  Reader w(sub("writer"), "writer.");
  w.Get("consumer", &c.writer.consumer);
  w.Get("batch", &c.writer.batch);
  w.Get("ack_wait_ms", &c.writer.ack_wait_ms);
  w.Get("max_deliveries", &c.writer.max_deliveries);
  w.Get("nak_delay_ms", &c.writer.nak_delay_ms);
  w.Get("metrics_listen", &c.writer.metrics_listen);
  w.Get("threads", &c.writer.threads);
  for (Reader* r : {&m, &b, &n, &g, &w}) {
    r->CheckUnknown();
    if (!r->status().ok()) return r->status();
  }
  if (!top.status().ok()) return top.status();
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    if (key != "roles" && key != "metadata" && key != "blobs" && key != "nats" &&
        key != "gateway" && key != "writer") {
      return absl::InvalidArgumentError("scale config: unknown key " + key);
    }
  }
  for (const auto& role : c.roles) {
    if (role != "ingest" && role != "writer") {
      return absl::InvalidArgumentError("scale config: unknown role \"" + role +
                                        "\" (ingest | writer)");
    }
  }
  if (c.metadata.backend != "sqlite" && c.metadata.backend != "postgres") {
    return absl::InvalidArgumentError("scale config: metadata.backend must be sqlite or postgres");
  }
  if (c.metadata.backend == "postgres" && c.metadata.postgres.empty()) {
    return absl::InvalidArgumentError("scale config: metadata.postgres (conninfo) is required");
  }
  if (c.metadata.backend == "sqlite" && c.metadata.sqlite_path.empty()) {
    return absl::InvalidArgumentError("scale config: metadata.sqlite_path is required");
  }
  if (c.blobs.backend != "fs") {
    return absl::InvalidArgumentError("scale config: blobs.backend must be fs");
  }
  if (c.nats.replicas < 1 || c.nats.replicas > 5) {
    return absl::InvalidArgumentError("scale config: nats.replicas must be 1..5");
  }
  if (c.nats.urls.empty()) return absl::InvalidArgumentError("scale config: nats.urls is empty");
  if (c.gateway.inline_max_bytes + 4096 > static_cast<uint64_t>(c.nats.max_msg_bytes)) {
    return absl::InvalidArgumentError(
        "scale config: gateway.inline_max_bytes must leave 4 KiB below nats.max_msg_bytes");
  }
  if (c.writer.batch < 1 || c.writer.threads < 1 || c.gateway.threads < 1) {
    return absl::InvalidArgumentError("scale config: batch and threads must be >= 1");
  }
  return c;
}

absl::StatusOr<ScaleConfig> LoadScaleConfig(const std::string& path) {
  auto text = Env::Default()->ReadFile(path);
  if (!text.ok()) return text.status();
  auto c = ParseScaleConfig(*text);
  if (!c.ok())
    return absl::Status(c.status().code(), path + ": " + std::string(c.status().message()));
  return c;
}

absl::StatusOr<std::unique_ptr<vault::MetadataStore>> OpenMetadataStore(const ScaleConfig& c) {
  if (c.metadata.backend == "sqlite") {
    auto s = vault::SqliteMetadataStore::Open(c.metadata.sqlite_path);
    if (!s.ok()) return s.status();
    return std::unique_ptr<vault::MetadataStore>(std::move(*s));
  }
  vault::PgMetadataStore::Options o;
  o.conninfo = c.metadata.postgres;
  o.max_connections = c.metadata.pool_size;
  auto s = vault::PgMetadataStore::Open(o);
  if (!s.ok()) return s.status();
  return std::unique_ptr<vault::MetadataStore>(std::move(*s));
}

absl::StatusOr<std::unique_ptr<vault::BlobStore>> OpenBlobStore(const ScaleConfig& c) {
  if (c.blobs.dir.empty()) return absl::InvalidArgumentError("scale config: blobs.dir is required");
  auto b = vault::FsBlobStore::Open(Env::Default(), c.blobs.dir);
  if (!b.ok()) return b.status();
  return std::unique_ptr<vault::BlobStore>(std::move(*b));
}

}  // namespace sealtrace::scale
