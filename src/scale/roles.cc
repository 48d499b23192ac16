#include "scale/roles.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <iostream>
#include <thread>
#include <vector>

#include "crypto/crypto.h"
#include "net/http_server.h"
#include "scale/jetstream.h"
#include "scale/pipeline.h"
#include "vault/enroll.h"
#include "vault/http_routes.h"
#include "vault/key_service.h"
#include "vault/vault.h"

namespace sealtrace::scale {
namespace {

bool IsLoopbackHost(const std::string& h) {
  return h == "localhost" || h == "::1" || h.rfind("127.", 0) == 0;
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

// The key service of a gateway with gateway.enroll: the vault's HSM or a key file.
absl::StatusOr<std::unique_ptr<vault::KeyService>> OpenGatewayKeys(const ScaleConfig& c, Env* env,
                                                                   vault::MetadataStore* store) {
  if ((c.gateway.key_file.empty() == c.gateway.hsm_module.empty()) ||
      c.gateway.enroll_secret_file.empty()) {
    return absl::InvalidArgumentError(
        "gateway.enroll needs gateway.enroll_secret_file and either gateway.hsm_module (with "
        "gateway.hsm_token) or gateway.key_file");
  }
  vault::MasterKeyConfig mk;
  mk.key_file = c.gateway.key_file;
  mk.hsm_module = c.gateway.hsm_module;
  mk.hsm_token = c.gateway.hsm_token;
  mk.hsm_pin_file = c.gateway.hsm_pin_file;
  auto rows = store->ListContributorKeys();
  if (!rows.ok()) return rows.status();
  mk.create_if_missing = rows->empty();
  auto master = vault::OpenMasterKeys(env, mk);
  if (!master.ok()) return master.status();
  return vault::KeyService::Open(env, store, *std::move(master));
}

}  // namespace

absl::Status RunIngestGateway(const ScaleConfig& c, const RoleOptions& o) {
  InitCrypto();
  std::string host;
  int port = 0;
  if (!net::SplitHostPort(c.gateway.listen, &host, &port)) {
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
    auto k = OpenGatewayKeys(c, env, store->get());
    if (!k.ok()) return k.status();
    keys = std::move(*k);
    auto secret = vault::LoadOrCreateSecretFile(env, c.gateway.enroll_secret_file);
    if (!secret.ok()) return secret.status();
    enroll = std::make_unique<vault::EnrollService>(store->get(), keys.get(), env, &metrics,
                                                    std::move(*secret));
  }

  net::HttpServer svr(net::HttpServerOptions{"", "", c.gateway.threads, "gateway", false});
  vault::SegmentsRouteOptions so;
  so.max_segment_bytes = c.gateway.max_segment_bytes;
  so.device_known = [&dir](std::string_view auth) { return dir.Authenticate(auth).ok(); };
  so.ingest = [&gateway](const vault::IngestRequest& in) { return gateway.Ingest(in); };
  so.retry_after_s = 1;
  so.observe_latency = [&metrics](int64_t us) {
    metrics.ObserveLatency(vault::Route::kSegments, us);
  };
  svr.AddRoute(vault::SegmentsRoute(std::move(so)));
  svr.AddRoute(net::Route::Get("/v1/device/state", [&](const net::HttpRequest& req) {
    auto dev = dir.Authenticate(req.Header("Authorization"));
    if (!dev.ok()) return vault::DeviceStateResponse(dev.status());
    // The same answer as the vault's (vault::ReadDeviceState),
    // contributor pause and title policy included.
    return vault::DeviceStateResponse(
        vault::ReadDeviceState(store->get(), dev->contributor_id, env->NowWallMicros()));
  }));
  if (enroll) {
    svr.AddRoute(net::Route::Post(
        "/v1/enroll", vault::kMaxEnrollBodyBytes, [&](const net::HttpRequest& req) {
          if (req.body_too_large) {
            return net::ErrorResponse(413, "invalid", "enrolment request body is too large");
          }
          vault::EnrollResult r = enroll->Enroll({req.Header("Authorization"), req.body});
          auto out = net::HttpResponse::Json(r.http_status(), r.ToJson());
          if (r.outcome == vault::EnrollOutcome::kStorageError) {
            out.SetHeader("Retry-After", "5");
          }
          out.SetHeader("Cache-Control", "no-store");
          return out;
        }));
  }
  svr.AddRoute(net::Route::Get("/healthz", [&](const net::HttpRequest&) {
                 return (*js)->connected()
                            ? net::HttpResponse::Text(200, "ok\n")
                            : net::ErrorResponse(503, "unavailable",
                                                 "not connected to the NATS cluster");
               }).Quiet());
  svr.AddRoute(net::Route::Get("/metrics", [&](const net::HttpRequest&) {
                 std::string text = metrics.RenderPrometheus(nullptr);
                 text +=
                     "# HELP sealtrace_gateway_blob_refs_total Segments sent by blob "
                     "reference.\n"
                     "# TYPE sealtrace_gateway_blob_refs_total counter\n"
                     "sealtrace_gateway_blob_refs_total " +
                     std::to_string(gateway.blob_refs()) + "\n";
                 return net::HttpResponse::Text(200, text, "text/plain; version=0.0.4");
               }).Quiet());
  auto bound = svr.Bind(host, port);
  if (!bound.ok()) return bound.status();
  spdlog::info("ingest gateway listening on http://{}:{} (stream {}, R={})", host, *bound,
               c.nats.stream, c.nats.replicas);
  if (o.on_listening) o.on_listening(*bound);
  std::atomic<bool> served_out{false};
  std::thread stopper([&] {
    while (!Stopped(o) && !served_out) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    svr.Stop();
  });
  absl::Status served = svr.Serve();
  served_out = true;
  stopper.join();
  if (!served.ok() && !Stopped(o)) return absl::UnavailableError("gateway listen loop failed");
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

  std::unique_ptr<net::HttpServer> msvr;
  std::thread mthread;
  if (!c.writer.metrics_listen.empty()) {
    std::string host;
    int port = 0;
    if (!net::SplitHostPort(c.writer.metrics_listen, &host, &port)) {
      return absl::InvalidArgumentError("writer.metrics_listen must be HOST:PORT");
    }
    msvr = std::make_unique<net::HttpServer>(net::HttpServerOptions{"", "", 0, "writer", false});
    msvr->AddRoute(net::Route::Get("/metrics", [&](const net::HttpRequest&) {
                     return net::HttpResponse::Text(200, metrics.Render(),
                                                    "text/plain; version=0.0.4");
                   }).Quiet());
    if (auto b = msvr->Bind(host, port); !b.ok()) {
      return absl::UnavailableError("cannot bind writer.metrics_listen " + c.writer.metrics_listen +
                                    ": " + std::string(b.status().message()));
    }
    mthread = std::thread([&] { msvr->Serve().IgnoreError(); });  // ends at Stop()
  }
  spdlog::info("writer consuming {} as durable {} ({} loop(s))", c.nats.stream, c.writer.consumer,
               c.writer.threads);
  std::vector<std::thread> loops;
  for (int i = 0; i < c.writer.threads; ++i) {
    loops.emplace_back([&, i] { WriterLoop(i, c, js->get(), &writer, &metrics, o); });
  }
  for (auto& t : loops) t.join();
  if (msvr) {
    msvr->Stop();
    mthread.join();
  }
  spdlog::info("writer stopped: stored {} duplicate {} retried {} parked {}", metrics.stored.load(),
               metrics.duplicate.load(), metrics.retried.load(), metrics.parked.load());
  return absl::OkStatus();
}

}  // namespace sealtrace::scale
