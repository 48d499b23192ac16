#include "scale/roles.h"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "crypto/crypto.h"
#include "scale/jetstream.h"
#include "scale/pipeline.h"
#include "vault/enroll.h"
#include "vault/key_service.h"
#include "vault/vault.h"

namespace sealtrace::scale {
namespace {

constexpr char kJson[] = "application/json";

bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  *host = s.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(s.substr(colon + 1), port) && *port >= 0 && *port <= 65535;
}

bool IsLoopbackHost(const std::string& h) {
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
}

void SendError(httplib::Response& res, int status, const std::string& code,
               const std::string& message) {
  nlohmann::json j = {{"error", code}, {"message", message}};
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
}

std::optional<uint64_t> ContentLength(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return std::nullopt;
  uint64_t n = 0;
  if (!absl::SimpleAtoi(req.get_header_value("Content-Length"), &n)) {
    return std::numeric_limits<uint64_t>::max();
  }
  return n;
}

bool ReadCapped(const httplib::ContentReader& reader, size_t cap, std::string* body, bool* over) {
  *over = false;
  return reader([&](const char* data, size_t n) {
    if (body->size() + n > cap) {
      *over = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
}

bool Stopped(const RoleOptions& o) { return o.stop && o.stop->load(); }

absl::StatusOr<std::unique_ptr<JetStream>> ConnectAndEnsure(const ScaleConfig& c,
                                                            const std::string& name,
                                                            const RoleOptions& o) {
  auto js = JetStream::Connect(c.nats.urls, name, c.nats.publish_timeout_ms);
  if (!js.ok()) return js.status();
  StreamSpec main{c.nats.stream,          {c.nats.subject},
                  c.nats.replicas,        c.nats.duplicate_window_s * 1000,
                  c.nats.max_msg_bytes,   false,
                  c.nats.max_age_s * 1000};
  StreamSpec park = main;
  park.name = c.nats.park_stream;
  park.subjects = {c.nats.park_subject};
  // The cluster may still be electing leaders: retry for a while.
  absl::Status s;
  for (int i = 0; i < 120 && !Stopped(o); ++i) {
    s = (*js)->EnsureStream(main);
    if (s.ok()) s = (*js)->EnsureStream(park);
    if (s.ok()) return js;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return s;
}

}  // namespace

absl::Status RunIngestGateway(const ScaleConfig& c, const RoleOptions& o) {
  InitCrypto();
  std::string host;
  int port = 0;
  if (!SplitHostPort(c.gateway.listen, &host, &port)) {
    return absl::InvalidArgumentError("gateway.listen must be HOST:PORT");
  }
  if (!IsLoopbackHost(host) && !c.gateway.allow_plain_http) {
    return absl::FailedPreconditionError(
        "gateway.listen is not a loopback address and the gateway speaks plain HTTP: put a "
        "TLS-terminating load balancer in front and set gateway.allow_plain_http = true");
  }
  Env* env = Env::Default();
  auto store = OpenMetadataStore(c);
  if (!store.ok()) return store.status();
  auto blobs = OpenBlobStore(c);
  if (!blobs.ok()) return blobs.status();
  auto js = ConnectAndEnsure(c, "sealtrace-gateway", o);
  if (!js.ok()) return js.status();
  vault::VaultMetrics metrics;
  CachingKeyDirectory dir(store->get(), std::chrono::seconds(60));
  JetStreamPublisher publisher(js->get(), c.nats.subject, c.nats.publish_timeout_ms);
  IngestGateway::Options go;
  go.max_segment_bytes = c.gateway.max_segment_bytes;
  go.inline_max_bytes = c.gateway.inline_max_bytes;
  IngestGateway gateway(store->get(), blobs->get(), &dir, &publisher, env, &metrics, go);

  std::unique_ptr<vault::KeyService> keys;
  std::unique_ptr<vault::EnrollService> enroll;
  if (c.gateway.enroll) {
    if (c.gateway.key_file.empty() || c.gateway.enroll_secret_file.empty()) {
      return absl::InvalidArgumentError(
          "gateway.enroll needs gateway.key_file and gateway.enroll_secret_file");
    }
    auto k = vault::KeyService::Open(env, store->get(), c.gateway.key_file);
    if (!k.ok()) return k.status();
    keys = std::move(*k);
    auto secret = vault::LoadOrCreateSecretFile(env, c.gateway.enroll_secret_file);
    if (!secret.ok()) return secret.status();
    enroll = std::make_unique<vault::EnrollService>(store->get(), keys.get(), env, &metrics,
                                                    std::move(*secret));
  }

  httplib::Server svr;
  const size_t max = c.gateway.max_segment_bytes;
  svr.new_task_queue = [n = c.gateway.threads] { return new httplib::ThreadPool(n); };
  svr.set_payload_max_length(max);
  auto now_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  svr.Post("/v1/segments", [&](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
    const int64_t start = now_us();
    vault::IngestRequest in;
    const std::string auth = req.get_header_value("Authorization");
    const std::string declared = req.get_header_value("X-Sealtrace-Segment-Id");
    in.authorization = auth;
    in.declared_segment_id = declared;
    in.content_length = ContentLength(req);
    std::string body;
    bool consumed = false;
    auto pre = dir.Authenticate(auth);
    bool early = !pre.ok() || (in.content_length && *in.content_length > max);
    if (!early && req.is_multipart_form_data()) {
      in.content_length.reset();
      early = true;
    }
    if (!early) {
      bool over = false;
      consumed = ReadCapped(reader, max, &body, &over);
      if (over) in.content_length = max + 1;
    }
    in.body = body;
    vault::IngestResult r = gateway.Ingest(in);
    if (!consumed) res.set_header("Connection", "close");
    if (r.ok()) {
      nlohmann::json j = {{"status", vault::IngestOutcomeName(r.outcome)},
                          {"segment_id", r.segment_id},
                          {"sequence", r.sequence}};
      res.status = 200;
      res.set_content(j.dump(), kJson);
    } else {
      nlohmann::json j = {{"error", vault::IngestOutcomeName(r.outcome)}, {"message", r.message}};
      if (!r.segment_id.empty()) j["segment_id"] = r.segment_id;
      res.status = r.http_status();
      if (r.outcome == vault::IngestOutcome::kStorageError) res.set_header("Retry-After", "1");
      if (r.outcome == vault::IngestOutcome::kUnauthenticated) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
      }
      res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
    }
    metrics.ObserveLatency(vault::Route::kSegments, now_us() - start);
  });
  svr.Get("/v1/device/state", [&](const httplib::Request& req, httplib::Response& res) {
    auto dev = dir.Authenticate(req.get_header_value("Authorization"));
    if (!dev.ok()) {
      if (absl::IsUnauthenticated(dev.status())) {
        res.set_header("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
        return SendError(res, 401, "unauthenticated", std::string(dev.status().message()));
      }
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "storage_error", "store unavailable");
    }
    // The same answer as the vault's (vault::ReadDeviceState), contributor
    // pause and title policy included.
    auto st = vault::ReadDeviceState(store->get(), dev->contributor_id, env->NowWallMicros());
    if (!st.ok()) {
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "storage_error", "store unavailable");
    }
    nlohmann::json j = {{"programme_state", st->programme_state},
                        {"recording_allowed", st->recording_allowed},
                        {"contributor_paused", st->contributor_paused},
                        {"title_policy", st->title_policy}};
    res.status = 200;
    res.set_content(j.dump(), kJson);
  });
  if (enroll) {
    svr.Post("/v1/enroll", [&](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) {
      std::string body;
      bool over = false;
      bool ok = ReadCapped(reader, vault::kMaxEnrollBodyBytes, &body, &over);
      if (!ok) res.set_header("Connection", "close");
      if (over) body.assign(vault::kMaxEnrollBodyBytes + 1, ' ');
      const std::string auth = req.get_header_value("Authorization");
      vault::EnrollResult r = enroll->Enroll({auth, body});
      res.status = r.http_status();
      if (r.outcome == vault::EnrollOutcome::kStorageError) res.set_header("Retry-After", "5");
      res.set_header("Cache-Control", "no-store");
      res.set_content(r.ToJson(), kJson);
    });
  }
  svr.Get("/healthz", [&](const httplib::Request&, httplib::Response& res) {
    if ((*js)->connected()) {
      res.status = 200;
      res.set_content("ok\n", "text/plain");
    } else {
      SendError(res, 503, "unavailable", "not connected to the NATS cluster");
    }
  });
  svr.Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    std::string text = metrics.RenderPrometheus(nullptr);
    text +=
        "# HELP sealtrace_gateway_blob_refs_total Segments sent by blob reference.\n"
        "# TYPE sealtrace_gateway_blob_refs_total counter\n"
        "sealtrace_gateway_blob_refs_total " +
        std::to_string(gateway.blob_refs()) + "\n";
    res.status = 200;
    res.set_content(text, "text/plain; version=0.0.4");
  });
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) return SendError(res, 404, "not_found", "no such route");
    if (res.status == 413) return SendError(res, 413, "oversized", "request body too large");
    SendError(res, res.status, "bad_request", "request could not be processed");
  });
  svr.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, 500, "internal", "internal error");
      });

  int bound = port;
  if (port == 0) {
    bound = svr.bind_to_any_port(host);
    if (bound < 0) return absl::UnavailableError("cannot bind " + host);
  } else if (!svr.bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind " + c.gateway.listen);
  }
  spdlog::info("ingest gateway listening on http://{}:{} (stream {}, R={})", host, bound,
               c.nats.stream, c.nats.replicas);
  if (o.on_listening) o.on_listening(bound);
  std::thread stopper([&] {
    while (!Stopped(o) && !svr.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    while (!Stopped(o) && svr.is_running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    svr.stop();
  });
  bool ok = svr.listen_after_bind();
  svr.stop();
  stopper.join();
  if (!ok && !Stopped(o)) return absl::UnavailableError("gateway listen loop failed");
  return absl::OkStatus();
}

namespace {

// Moves a message to the park stream (same data, original headers plus the reason).
absl::Status Park(JetStream* js, const ScaleConfig& c, JsMessage& m, const std::string& reason) {
  Headers h = m.headers();
  h.emplace_back(kHdrParkReason, reason);
  h.emplace_back(kHdrParkDeliveries, std::to_string(m.num_delivered()));
  h.emplace_back(kHdrParkSequence, std::to_string(m.stream_sequence()));
  // Dedup by the original stream sequence: parking twice (a crash between park and
  // ack) leaves one parked copy.
  auto ack = js->Publish(c.nats.park_subject, m.data(), h,
                         "park-" + c.nats.stream + "-" + std::to_string(m.stream_sequence()),
                         c.nats.publish_timeout_ms);
  return ack.status();
}

void WriterLoop(int index, const ScaleConfig& c, JetStream* js, SegmentWriter* writer,
                WriterMetrics* metrics, const RoleOptions& o) {
  std::unique_ptr<PullConsumer> consumer;
  int64_t backoff_ms = 0;
  while (!Stopped(o)) {
    if (!consumer) {
      ConsumerSpec spec;
      spec.stream = c.nats.stream;
      spec.subject = c.nats.subject;
      spec.durable = c.writer.consumer;
      spec.ack_wait_ms = c.writer.ack_wait_ms;
      auto sub = js->PullSubscribe(spec);
      if (!sub.ok()) {
        spdlog::warn("writer {}: subscribe: {}", index, std::string(sub.status().message()));
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
        continue;
      }
      consumer = std::move(*sub);
    }
    bool transient = false;
    absl::Status s = consumer->Fetch(c.writer.batch, 1000, [&](JsMessage& m) {
      if (transient) {
        // The store failed on an earlier message of this batch: hand the rest back.
        m.Nak(c.writer.nak_delay_ms).IgnoreError();
        metrics->retried++;
        return;
      }
      SegmentWriter::Result r = writer->Write(m.data(), m.headers());
      switch (r.outcome) {
        case SegmentWriter::Outcome::kStored:
        case SegmentWriter::Outcome::kDuplicate: {
          (r.outcome == SegmentWriter::Outcome::kStored ? metrics->stored : metrics->duplicate)++;
          if (r.outcome == SegmentWriter::Outcome::kStored) {
            metrics->bytes += m.data().size();
          }
          if (absl::Status a = m.Ack(); !a.ok()) {
            // Redelivery finds it stored and acks again.
            metrics->ack_failed++;
            spdlog::warn("writer {}: ack of {} not confirmed: {}", index, r.segment_id,
                         std::string(a.message()));
          }
          return;
        }
        case SegmentWriter::Outcome::kRetry:
          if (static_cast<int>(m.num_delivered()) < c.writer.max_deliveries) {
            transient = true;
            metrics->retried++;
            spdlog::warn("writer {}: segment {} will be retried (delivery {}): {}", index,
                         r.segment_id, m.num_delivered(), r.reason);
            m.Nak(c.writer.nak_delay_ms).IgnoreError();
            return;
          }
          r.reason =
              "gave up after " + std::to_string(m.num_delivered()) + " deliveries: " + r.reason;
          [[fallthrough]];
        case SegmentWriter::Outcome::kPoison: {
          absl::Status p = Park(js, c, m, r.reason);
          if (!p.ok()) {
            metrics->park_failed++;
            spdlog::error("writer {}: cannot park segment {}: {}", index, r.segment_id,
                          std::string(p.message()));
            m.Nak(c.writer.nak_delay_ms).IgnoreError();
            transient = true;
            return;
          }
          metrics->parked++;
          spdlog::error("writer {}: PARKED segment {} (stream seq {}, delivery {}): {}", index,
                        r.segment_id.empty() ? "?" : r.segment_id, m.stream_sequence(),
                        m.num_delivered(), r.reason);
          if (absl::Status a = m.Ack(); !a.ok()) metrics->ack_failed++;
          return;
        }
      }
    });
    if (!s.ok()) {
      spdlog::warn("writer {}: fetch: {}", index, std::string(s.message()));
      transient = true;
    }
    if (transient) {
      backoff_ms = backoff_ms == 0 ? 200 : std::min<int64_t>(backoff_ms * 2, 2000);
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    } else {
      backoff_ms = 0;
    }
  }
}

}  // namespace

absl::Status RunWriter(const ScaleConfig& c, const RoleOptions& o) {
  InitCrypto();
  Env* env = Env::Default();
  // The metadata store may be down when a writer starts: keep trying.
  absl::StatusOr<std::unique_ptr<vault::MetadataStore>> store = absl::UnavailableError("");
  for (int i = 0; !Stopped(o); ++i) {
    store = OpenMetadataStore(c);
    if (store.ok() || !absl::IsUnavailable(store.status())) break;
    if (i % 10 == 0) {
      spdlog::warn("writer: metadata store: {}", std::string(store.status().message()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (Stopped(o)) return absl::OkStatus();
  if (!store.ok()) return store.status();
  auto blobs = OpenBlobStore(c);
  if (!blobs.ok()) return blobs.status();
  auto js = ConnectAndEnsure(c, "sealtrace-writer", o);
  if (!js.ok()) return js.status();
  SegmentWriter writer(store->get(), blobs->get(), env);
  WriterMetrics metrics;

  std::unique_ptr<httplib::Server> msvr;
  std::thread mthread;
  if (!c.writer.metrics_listen.empty()) {
    std::string host;
    int port = 0;
    if (!SplitHostPort(c.writer.metrics_listen, &host, &port)) {
      return absl::InvalidArgumentError("writer.metrics_listen must be HOST:PORT");
    }
    msvr = std::make_unique<httplib::Server>();
    msvr->Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics.Render(), "text/plain; version=0.0.4");
    });
    if (!msvr->bind_to_port(host, port)) {
      return absl::UnavailableError("cannot bind " + c.writer.metrics_listen);
    }
    mthread = std::thread([&] { msvr->listen_after_bind(); });
  }
  spdlog::info("writer consuming {} as durable {} ({} loop(s))", c.nats.stream, c.writer.consumer,
               c.writer.threads);
  std::vector<std::thread> loops;
  for (int i = 0; i < c.writer.threads; ++i) {
    loops.emplace_back([&, i] { WriterLoop(i, c, js->get(), &writer, &metrics, o); });
  }
  for (auto& t : loops) t.join();
  if (msvr) {
    msvr->stop();
    mthread.join();
  }
  spdlog::info("writer stopped: stored {} duplicate {} retried {} parked {}", metrics.stored.load(),
               metrics.duplicate.load(), metrics.retried.load(), metrics.parked.load());
  return absl::OkStatus();
}

}  // namespace sealtrace::scale
