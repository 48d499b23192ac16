// ScaleConfig: configuration of the multi-machine roles (config/scale.example.toml,
// docs/DEPLOY.md). Parsed from TOML (toml++); every key has a default, unknown
// keys are refused (a typo must not silently fall back to a default).
//
// Thread-safety: plain data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "vault/blob_store.h"
#include "vault/metadata_store.h"

namespace sealtrace::scale {

struct ScaleConfig {
  // Roles this process runs when started with the config alone: "ingest", "writer".
  std::vector<std::string> roles;

  struct Metadata {
    std::string backend = "postgres";  // sqlite | postgres
    std::string sqlite_path;           // backend = sqlite
    std::string postgres;              // libpq connection string (backend = postgres)
    int pool_size = 4;
  } metadata;

  struct Blobs {
    std::string backend = "fs";  // fs (S3-like later)
    std::string dir;             // shared file system (NFS/CephFS/...) for fs
  } blobs;

  struct Nats {
    std::vector<std::string> urls = {"nats://127.0.0.1:4222"};
    std::string stream = "SEALTRACE_SEGMENTS";
    std::string subject = "sealtrace.segments";
    std::string park_stream = "SEALTRACE_PARKED";
    std::string park_subject = "sealtrace.parked";
    int replicas = 3;
    int64_t duplicate_window_s = 600;
    int32_t max_msg_bytes = 1 << 20;  // must not exceed the servers' max_payload
    int64_t publish_timeout_ms = 5000;
    // Stream retention: a buffer for writer outages, not an archive (the blob
    // store and PostgreSQL are). Parked messages are kept as long.
    int64_t max_age_s = 7 * 24 * 3600;
  } nats;

  struct Gateway {
    std::string listen = "127.0.0.1:8420";
    bool allow_plain_http = false;
    // Segments larger than this (or frame segments) go to the blob store directly
    // and only a reference travels through the stream.
    uint64_t inline_max_bytes = 256 << 10;
    uint64_t max_segment_bytes = 64 << 20;
    int threads = 16;
    // Optional enrolment on the gateway. It wraps new contributor keys, so it
    // needs the master keys: the vault's HSM (hsm_module, hsm_token, hsm_pin_file
    // or $SEALTRACE_HSM_PIN) or a key file (key_file); run it only on gateways
    // inside the key perimeter, otherwise enrol through the vault API.
    bool enroll = false;
    std::string key_file;
    std::string hsm_module;
    std::string hsm_token;
    std::string hsm_pin_file;
    std::string enroll_secret_file;
  } gateway;

  struct Writer {
    std::string consumer = "sealtrace-writers";  // durable consumer shared by all writers
    int batch = 32;
    int64_t ack_wait_ms = 10000;
    int max_deliveries = 50;  // transient failures before a message is parked
    int64_t nak_delay_ms = 1000;
    std::string metrics_listen;  // "" = no metrics endpoint
    int threads = 1;             // consumer loops in this process
  } writer;
};

// Parses TOML text. INVALID_ARGUMENT with the key and reason on any problem.
absl::StatusOr<ScaleConfig> ParseScaleConfig(const std::string& toml_text);
absl::StatusOr<ScaleConfig> LoadScaleConfig(const std::string& path);

// Opens the configured metadata backend (migrations applied) and blob store.
absl::StatusOr<std::unique_ptr<vault::MetadataStore>> OpenMetadataStore(const ScaleConfig& c);
absl::StatusOr<std::unique_ptr<vault::BlobStore>> OpenBlobStore(const ScaleConfig& c);

}  // namespace sealtrace::scale
