#include "scale/loadgen.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "agent/vault_client.h"
#include "crypto/crypto.h"
#include "segment/format.h"

namespace sealtrace::scale {
namespace {

using Clock = std::chrono::steady_clock;

struct Device {
  EnrolResponse enrol;
  std::string server;
  std::unique_ptr<VaultClient> client;
  uint64_t next_seq = 1;
  std::mutex mu;
};

struct Job {
  Device* device;
  uint64_t sequence;
  uint64_t index;
};

double Ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

double Percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return Ms(v[k]);
}

Id16 RandomId16(std::mt19937_64& rng) {
  Id16 id;
  for (auto& b : id.b) b = static_cast<uint8_t>(rng());
  if (id.IsZero()) id.b[0] = 1;
  return id;
}

// A segment shaped like a recorded session: pointer moves and clicks, typing
// (key down/up with text), occasional scrolls and focus changes.
absl::StatusOr<std::string> MakeSegment(const Device& d, uint64_t seq, const Id16& segment_id,
                                        const LoadgenOptions& o, bool frame, std::mt19937_64& rng,
                                        uint32_t* events_out) {
  SegmentBuilder::Params p;
  p.contributor_id = d.enrol.contributor_id;
  p.device_id = d.enrol.device_id;
  p.segment_id = segment_id;
  p.sequence = seq;
  p.wall_anchor_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  p.start_mono_us = seq * 10'000'000;
  p.recipient_public_key = d.enrol.contributor_public_key;
  if (frame) p.flags = kFlagFramePayload;
  SegmentBuilder b(p);
  if (frame) {
    std::string raw(o.frame_bytes, '\0');
    for (size_t i = 0; i < raw.size(); i += 8) {
      uint64_t r = rng();
      std::memcpy(&raw[i], &r, std::min<size_t>(8, raw.size() - i));
    }
    b.AddRaw(raw);
    *events_out = 0;
    return b.Seal();
  }
  const int n = std::max(1, static_cast<int>(o.segment_seconds * o.events_per_second));
  const uint64_t span_us = static_cast<uint64_t>(o.segment_seconds * 1e6);
  static const char* kApps[] = {"firefox", "code", "libreoffice", "gnome-terminal", "slack"};
  int x = 800, y = 450;
  for (int i = 0; i < n; ++i) {
    v1::Event e;
    e.set_t_us(span_us * static_cast<uint64_t>(i) / static_cast<uint64_t>(n));
    int kind = static_cast<int>(rng() % 100);
    if (i == 0 || kind < 2) {
      auto* f = e.mutable_focus();
      f->set_window_id(rng() % 100000);
      f->set_app_class(kApps[rng() % 5]);
      f->set_title("Document " + std::to_string(rng() % 1000));
      f->set_width(1600);
      f->set_height(900);
    } else if (kind < 55) {
      x = std::clamp(x + static_cast<int>(rng() % 41) - 20, 0, 1919);
      y = std::clamp(y + static_cast<int>(rng() % 41) - 20, 0, 1079);
      auto* pt = e.mutable_pointer();
      pt->set_kind(v1::PointerEvent::MOVE);
      pt->set_x(x);
      pt->set_y(y);
    } else if (kind < 60) {
      auto* pt = e.mutable_pointer();
      pt->set_kind(kind < 58 ? v1::PointerEvent::BUTTON_DOWN : v1::PointerEvent::BUTTON_UP);
      pt->set_button(1);
      pt->set_x(x);
      pt->set_y(y);
    } else if (kind < 63) {
      auto* pt = e.mutable_pointer();
      pt->set_kind(v1::PointerEvent::SCROLL);
      pt->set_scroll_dy(1);
      pt->set_x(x);
      pt->set_y(y);
    } else {
      auto* k = e.mutable_key();
      char c = static_cast<char>('a' + rng() % 26);
      k->set_down(kind % 2 == 0);
      k->set_keycode(24 + static_cast<uint32_t>(c - 'a'));
      k->set_keysym(static_cast<uint32_t>(c));
      if (k->down()) k->set_text(std::string(1, c));
    }
    b.Add(e);
  }
  *events_out = static_cast<uint32_t>(n);
  return b.Seal();
}

absl::Status SaveDevices(const std::string& path, const std::vector<std::unique_ptr<Device>>& ds) {
  std::string text;
  for (const auto& d : ds) {
    nlohmann::json j = {{"device_token", d->enrol.device_token},
                        {"contributor_id", d->enrol.contributor_id.Hex()},
                        {"device_id", d->enrol.device_id.Hex()},
                        {"contributor_public_key", Base64Url(d->enrol.contributor_public_key)}};
    text += j.dump() + "\n";
  }
  std::ofstream f(path, std::ios::trunc);
  if (!f) return absl::UnavailableError("cannot write " + path);
  chmod(path.c_str(), 0600);
  f << text;
  f.close();
  if (!f) return absl::UnavailableError("cannot write " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<EnrolResponse>> LoadDevices(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError("cannot read " + path);
  std::vector<EnrolResponse> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return absl::InvalidArgumentError(path + ": not JSON lines");
    EnrolResponse e;
    auto cid = Id16::FromHex(j.value("contributor_id", ""));
    auto did = Id16::FromHex(j.value("device_id", ""));
    auto pk = FromBase64Url(j.value("contributor_public_key", ""));
    e.device_token = j.value("device_token", "");
    if (!cid || !did || !pk.ok() || pk->size() != 32 || e.device_token.empty()) {
      return absl::InvalidArgumentError(path + ": incomplete device entry");
    }
    e.contributor_id = *cid;
    e.device_id = *did;
    e.contributor_public_key = *pk;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

std::string LoadgenReport::ToText() const {
  std::ostringstream os;
  os.setf(std::ios::fixed);
  os.precision(1);
  double secs = elapsed_s > 0 ? elapsed_s : 1;
  os << "loadgen: sent " << sent << "  acked " << acked << "  failed " << failed << "  retried "
     << retried << "\n"
     << "  elapsed " << elapsed_s << " s   throughput " << static_cast<double>(acked) / secs
     << " segments/s  " << static_cast<double>(bytes) / secs / 1e6 << " MB/s  "
     << static_cast<double>(events) / secs << " events/s\n"
     << "  ack latency (acknowledging request) ms: p50 " << p50_ms << "  p90 " << p90_ms << "  p99 "
     << p99_ms << "  max " << max_ms << "\n"
     << "  first attempt -> ack ms:                p50 " << e2e_p50_ms << "  p99 " << e2e_p99_ms
     << "  max " << e2e_max_ms << "\n";
  return os.str();
}

namespace {

// Step 1 of a run: the devices, from --devices-file and by enrolling the rest
// (round-robin over the servers), each with its HTTP client.
absl::StatusOr<std::vector<std::unique_ptr<Device>>> PrepareDevices(
    const LoadgenOptions& o, const std::function<bool()>& stopped) {
  std::string secret = o.enrol_secret;  // as read from a file: drop the trailing newline
  while (!secret.empty() &&
         (secret.back() == '\n' || secret.back() == '\r' || secret.back() == ' ')) {
    secret.pop_back();
  }
  std::vector<std::unique_ptr<Device>> devices;
  if (!o.devices_file.empty()) {
    auto loaded = LoadDevices(o.devices_file);
    if (!loaded.ok()) return loaded.status();
    for (auto& e : *loaded) {
      if (static_cast<int>(devices.size()) >= o.devices) break;
      auto d = std::make_unique<Device>();
      d->enrol = std::move(e);
      devices.push_back(std::move(d));
    }
  }
  for (int i = static_cast<int>(devices.size()); i < o.devices; ++i) {
    if (secret.empty()) {
      return absl::InvalidArgumentError("loadgen: need --enrol-secret (or more devices in " +
                                        o.devices_file + ")");
    }
    const std::string& server = o.servers[static_cast<size_t>(i) % o.servers.size()];
    std::string name = o.name_prefix + "-" + std::to_string(o.seed) + "-" + std::to_string(i);
    absl::StatusOr<EnrolResponse> e = absl::UnavailableError("");
    for (int attempt = 0; attempt < 20 && !stopped(); ++attempt) {
      e = EnrolOverHttp(server, secret, name);
      if (e.ok() || !absl::IsUnavailable(e.status())) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    if (!e.ok())
      return absl::Status(e.status().code(),
                          "loadgen: enrol: " + std::string(e.status().message()));
    auto d = std::make_unique<Device>();
    d->enrol = std::move(*e);
    devices.push_back(std::move(d));
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    devices[i]->server = o.servers[i % o.servers.size()];
    devices[i]->client = NewHttpVaultClient(devices[i]->server, devices[i]->enrol.device_token);
  }
  if (!o.save_devices.empty()) {
    if (auto s = SaveDevices(o.save_devices, devices); !s.ok()) return s;
  }

  return devices;
}

struct Attempt {
  bool acked = false;
  uint64_t retries = 0;
  int64_t req_us = 0;  // the last (acknowledging) request
};

// Uploads one segment, retrying transient failures with back-off until
// --give-up-after-ms or a stop.
Attempt UploadWithRetry(Device* device, const std::string& seg, const Id16& sid,
                        const LoadgenOptions& o, const std::function<bool()>& stopped) {
  Attempt a;
  const auto deadline = Clock::now() + std::chrono::milliseconds(o.give_up_after_ms);
  int64_t backoff_ms = 100;
  for (;;) {
    const auto t0 = Clock::now();
    UploadResponse r = device->client->UploadSegment(seg, sid);
    a.req_us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    if (r.acknowledged()) {
      a.acked = true;
      return a;
    }
    if (r.permanent_refusal() || r.http_status == 401) {
      spdlog::warn("loadgen: segment {} refused: HTTP {} {}", sid.Hex(), r.http_status,
                   r.error_code);
      return a;
    }
    if (Clock::now() + std::chrono::milliseconds(backoff_ms) > deadline || stopped()) return a;
    a.retries++;
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    backoff_ms = std::min<int64_t>(backoff_ms * 2, 1000);
  }
}

}  // namespace

absl::StatusOr<LoadgenReport> RunLoadgen(const LoadgenOptions& o, const std::atomic<bool>* stop) {
  InitCrypto();
  if (o.servers.empty()) return absl::InvalidArgumentError("loadgen: no --server");
  if (o.devices < 1 || o.rate <= 0 || o.duration_s <= 0 || o.threads < 1) {
    return absl::InvalidArgumentError("loadgen: devices, rate, duration and threads must be > 0");
  }
  std::function<bool()> stopped = [stop] { return stop && stop->load(); };
  auto prepared = PrepareDevices(o, stopped);
  if (!prepared.ok()) return prepared.status();
  std::vector<std::unique_ptr<Device>> devices = *std::move(prepared);

  // 2. Schedule: segment k leaves at start + k / rate, from device k % N.
  const uint64_t total =
      o.max_segments ? o.max_segments : static_cast<uint64_t>(o.rate * o.duration_s + 0.5);
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job> queue;
  bool done_dispatching = false;
  LoadgenReport rep;
  std::vector<int64_t> lat, e2e;
  const auto start = Clock::now();

  auto worker = [&](int wi) {
    std::mt19937_64 rng(o.seed * 1000003 + static_cast<uint64_t>(wi));
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return !queue.empty() || done_dispatching; });
        if (queue.empty()) return;
        job = queue.front();
        queue.pop_front();
      }
      const bool frame = o.frame_every > 0 && job.index % static_cast<uint64_t>(o.frame_every) ==
                                                  static_cast<uint64_t>(o.frame_every - 1);
      Id16 sid = RandomId16(rng);
      uint32_t nev = 0;
      auto seg = MakeSegment(*job.device, job.sequence, sid, o, frame, rng, &nev);
      if (!seg.ok()) {
        std::lock_guard<std::mutex> l(mu);
        rep.sent++;
        rep.failed++;
        continue;
      }
      const auto first = Clock::now();
      const Attempt at = UploadWithRetry(job.device, *seg, sid, o, stopped);
      const int64_t total_us =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - first).count();
      std::lock_guard<std::mutex> l(mu);
      rep.sent++;
      rep.retried += at.retries;
      if (at.acked) {
        rep.acked++;
        rep.bytes += seg->size();
        rep.events += nev;
        rep.acked_ids.push_back(sid.Hex());
        lat.push_back(at.req_us);
        e2e.push_back(total_us);
      } else {
        rep.failed++;
      }
    }
  };
  std::vector<std::thread> workers;
  for (int i = 0; i < o.threads; ++i) workers.emplace_back(worker, i);
  for (uint64_t k = 0; k < total && !stopped(); ++k) {
    auto when = start + std::chrono::microseconds(static_cast<int64_t>(1e6 * k / o.rate));
    std::this_thread::sleep_until(when);
    Device* d = devices[k % devices.size()].get();
    std::lock_guard<std::mutex> l(mu);
    queue.push_back(Job{d, d->next_seq++, k});
    cv.notify_one();
  }
  {
    std::lock_guard<std::mutex> l(mu);
    done_dispatching = true;
    cv.notify_all();
  }
  for (auto& t : workers) t.join();
  rep.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  rep.p50_ms = Percentile(lat, 0.50);
  rep.p90_ms = Percentile(lat, 0.90);
  rep.p99_ms = Percentile(lat, 0.99);
  rep.max_ms = lat.empty() ? 0 : Ms(*std::max_element(lat.begin(), lat.end()));
  rep.e2e_p50_ms = Percentile(e2e, 0.50);
  rep.e2e_p99_ms = Percentile(e2e, 0.99);
  rep.e2e_max_ms = e2e.empty() ? 0 : Ms(*std::max_element(e2e.begin(), e2e.end()));
  return rep;
}

}  // namespace sealtrace::scale
