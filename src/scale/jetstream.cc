#include "scale/jetstream.h"

#include <nats/nats.h>

#include <mutex>

namespace sealtrace::scale {
namespace {

absl::Status NatsError(natsStatus s, jsErrCode code, const std::string& what) {
  std::string msg = "nats " + what + ": " + natsStatus_GetText(s);
  const char* last = nats_GetLastError(nullptr);
  if (last && *last) msg += std::string(" (") + last + ")";
  if (code != 0) msg += " [jetstream error " + std::to_string(static_cast<int>(code)) + "]";
  return absl::UnavailableError(msg);
}

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { nats_Open(-1); });
}

class Msg final : public JsMessage {
 public:
  explicit Msg(natsMsg* m) : m_(m) {}
  ~Msg() override {
    if (meta_) jsMsgMetaData_Destroy(meta_);
  }
  std::string_view data() const override {
    return {natsMsg_GetData(m_), static_cast<size_t>(natsMsg_GetDataLength(m_))};
  }
  std::string header(const std::string& key) const override {
    const char* v = nullptr;
    if (natsMsgHeader_Get(m_, key.c_str(), &v) != NATS_OK || v == nullptr) return "";
    return v;
  }
  Headers headers() const override {
    Headers out;
    const char** keys = nullptr;
    int n = 0;
    if (natsMsgHeader_Keys(m_, &keys, &n) != NATS_OK) return out;
    for (int i = 0; i < n; ++i) out.emplace_back(keys[i], header(keys[i]));
    free(static_cast<void*>(keys));
    return out;
  }
  uint64_t num_delivered() const override {
    Meta();
    return meta_ ? meta_->NumDelivered : 0;
  }
  uint64_t stream_sequence() const override {
    Meta();
    return meta_ ? meta_->Sequence.Stream : 0;
  }
  absl::Status Ack() override {
    jsErrCode code = static_cast<jsErrCode>(0);
    natsStatus s = natsMsg_AckSync(m_, nullptr, &code);
    return s == NATS_OK ? absl::OkStatus() : NatsError(s, code, "ack");
  }
  absl::Status Nak(int64_t delay_ms) override {
    natsStatus s = natsMsg_NakWithDelay(m_, delay_ms, nullptr);
    return s == NATS_OK ? absl::OkStatus() : NatsError(s, static_cast<jsErrCode>(0), "nak");
  }
  absl::Status Term() override {
    natsStatus s = natsMsg_Term(m_, nullptr);
    return s == NATS_OK ? absl::OkStatus() : NatsError(s, static_cast<jsErrCode>(0), "term");
  }
  absl::Status InProgress() override {
    natsStatus s = natsMsg_InProgress(m_, nullptr);
    return s == NATS_OK ? absl::OkStatus() : NatsError(s, static_cast<jsErrCode>(0), "progress");
  }

 private:
  void Meta() const {
    if (!meta_ && !meta_failed_) {
      if (natsMsg_GetMetaData(&meta_, m_) != NATS_OK) meta_failed_ = true;
    }
  }
  natsMsg* m_;
  mutable jsMsgMetaData* meta_ = nullptr;
  mutable bool meta_failed_ = false;
};

}  // namespace

struct JetStream::Impl {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  ~Impl() {
    if (js) jsCtx_Destroy(js);
    if (nc) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
  }
};

struct PullConsumer::Impl {
  natsSubscription* sub = nullptr;
  ~Impl() {
    if (sub) natsSubscription_Destroy(sub);  // keeps the durable consumer on the server
  }
};

PullConsumer::~PullConsumer() = default;

absl::Status PullConsumer::Fetch(int batch, int64_t timeout_ms,
                                 const std::function<void(JsMessage&)>& fn) {
  natsMsgList list{nullptr, 0};
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = natsSubscription_Fetch(&list, impl_->sub, batch, timeout_ms, &code);
  if (s == NATS_TIMEOUT) {
    natsMsgList_Destroy(&list);
    return absl::OkStatus();
  }
  if (s != NATS_OK) {
    natsMsgList_Destroy(&list);
    return NatsError(s, code, "fetch");
  }
  for (int i = 0; i < list.Count; ++i) {
    Msg m(list.Msgs[i]);
    fn(m);
  }
  natsMsgList_Destroy(&list);
  return absl::OkStatus();
}

JetStream::JetStream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JetStream::~JetStream() = default;

absl::StatusOr<std::unique_ptr<JetStream>> JetStream::Connect(const std::vector<std::string>& urls,
                                                              const std::string& client_name,
                                                              int64_t request_timeout_ms) {
  InitOnce();
  if (urls.empty()) return absl::InvalidArgumentError("nats: no server urls");
  natsOptions* opts = nullptr;
  if (natsOptions_Create(&opts) != NATS_OK) return absl::InternalError("nats: options");
  std::vector<const char*> servers;
  for (const auto& u : urls) servers.push_back(u.c_str());
  natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size()));
  natsOptions_SetName(opts, client_name.c_str());
  natsOptions_SetMaxReconnect(opts, -1);  // forever
  natsOptions_SetReconnectWait(opts, 250);
  natsOptions_SetTimeout(opts, 2000);
  natsOptions_SetReconnectBufSize(opts, 0);  // never buffer publishes while disconnected
  natsOptions_SetRetryOnFailedConnect(opts, true, nullptr, nullptr);
  auto impl = std::make_unique<Impl>();
  natsStatus s = natsConnection_Connect(&impl->nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    return NatsError(s, static_cast<jsErrCode>(0), "connect");
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = request_timeout_ms;
  s = natsConnection_JetStream(&impl->js, impl->nc, &jo);
  if (s != NATS_OK) return NatsError(s, static_cast<jsErrCode>(0), "jetstream context");
  return std::unique_ptr<JetStream>(new JetStream(std::move(impl)));
}

bool JetStream::connected() const {
  return impl_->nc && natsConnection_Status(impl_->nc) == NATS_CONN_STATUS_CONNECTED;
}

absl::Status JetStream::EnsureStream(const StreamSpec& spec) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  std::vector<const char*> subjects;
  for (const auto& s : spec.subjects) subjects.push_back(s.c_str());
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = spec.memory ? js_MemoryStorage : js_FileStorage;
  cfg.Replicas = spec.replicas;
  cfg.Duplicates = spec.duplicate_window_ms * 1000000;  // ns
  cfg.MaxMsgSize = spec.max_msg_bytes;
  cfg.MaxAge = spec.max_age_ms * 1000000;  // ns
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(&si, impl_->js, &cfg, nullptr, &code);
  if (s == NATS_OK) {
    jsStreamInfo_Destroy(si);
    return absl::OkStatus();
  }
  if (code == JSStreamNameExistErr) {
    code = static_cast<jsErrCode>(0);
    s = js_UpdateStream(&si, impl_->js, &cfg, nullptr, &code);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return absl::OkStatus();
    }
  }
  return NatsError(s, code, "ensure stream " + spec.name);
}

absl::StatusOr<JetStream::PubAck> JetStream::Publish(const std::string& subject,
                                                     std::string_view data, const Headers& headers,
                                                     const std::string& msg_id,
                                                     int64_t timeout_ms) {
  natsMsg* msg = nullptr;
  natsStatus s =
      natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) return NatsError(s, static_cast<jsErrCode>(0), "message");
  for (const auto& [k, v] : headers) natsMsgHeader_Set(msg, k.c_str(), v.c_str());
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = timeout_ms;
  if (!msg_id.empty()) po.MsgId = msg_id.c_str();
  jsPubAck* pa = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  s = js_PublishMsg(&pa, impl_->js, msg, &po, &code);
  natsMsg_Destroy(msg);
  if (s != NATS_OK) return NatsError(s, code, "publish");
  PubAck out;
  out.sequence = pa->Sequence;
  out.duplicate = pa->Duplicate;
  jsPubAck_Destroy(pa);
  return out;
}

absl::StatusOr<std::unique_ptr<PullConsumer>> JetStream::PullSubscribe(const ConsumerSpec& spec) {
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = spec.stream.c_str();
  so.Config.Durable = spec.durable.c_str();
  so.Config.AckPolicy = js_AckExplicit;
  so.Config.AckWait = spec.ack_wait_ms * 1000000;  // ns
  so.Config.MaxDeliver = -1;                       // the writer parks poison messages itself
  so.Config.MaxAckPending = spec.max_ack_pending;
  so.Config.DeliverPolicy = js_DeliverAll;
  auto c = std::unique_ptr<PullConsumer>(new PullConsumer());
  c->impl_ = std::make_unique<PullConsumer::Impl>();
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_PullSubscribe(&c->impl_->sub, impl_->js, spec.subject.c_str(),
                                  spec.durable.c_str(), nullptr, &so, &code);
  if (s != NATS_OK) return NatsError(s, code, "pull subscribe " + spec.durable);
  return c;
}

absl::StatusOr<uint64_t> JetStream::StreamMessages(const std::string& stream) {
  jsStreamInfo* si = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, stream.c_str(), nullptr, &code);
  if (s != NATS_OK) return NatsError(s, code, "stream info " + stream);
  uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

absl::StatusOr<std::pair<std::string, Headers>> JetStream::GetMessage(const std::string& stream,
                                                                      uint64_t seq) {
  natsMsg* m = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  natsStatus s = js_GetMsg(&m, impl_->js, stream.c_str(), seq, nullptr, &code);
  if (s != NATS_OK) {
    if (s == NATS_NOT_FOUND) return absl::NotFoundError("no message " + std::to_string(seq));
    return NatsError(s, code, "get message");
  }
  Msg wrapped(m);
  std::pair<std::string, Headers> out{std::string(wrapped.data()), wrapped.headers()};
  natsMsg_Destroy(m);
  return out;
}

}  // namespace sealtrace::scale
