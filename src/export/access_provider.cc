#include "export/access_provider.h"

#include <functional>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "crypto/crypto.h"
#include "net/http_client.h"
#include "segment/event_json.h"

namespace sealtrace::exporter {
namespace {

using json = nlohmann::json;

// Status for a non-200 reply. `latch` says whether it means "stop the export"
// rather than "this one segment failed".
absl::Status StatusOf(int http, const std::string& body, bool* latch) {
  std::string message = body.substr(0, 512);
  std::string rule;
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object()) {
    auto m = j.find("message");
    if (m != j.end() && m->is_string()) message = m->get<std::string>();
    auto r = j.find("rule");
    if (r != j.end() && r->is_string()) rule = r->get<std::string>();
  }
  // Refusal messages already start with "<rule>: "; name the rule only when they do not.
  const bool named = !rule.empty() && message.rfind(rule + ":", 0) == 0;
  const std::string text = absl::StrCat(
      "HTTP ", http, rule.empty() || named ? "" : " [rule " + rule + "]", ": ", message);
  *latch = false;
  switch (http) {
    case 401:
      *latch = true;
      return absl::UnauthenticatedError(text);
    case 403:
      *latch = true;
      return absl::PermissionDeniedError(text);
    case 409:
      *latch = true;
      return absl::FailedPreconditionError(text);
    case 503:
      *latch = true;
      return absl::UnavailableError(text);
    case 400:
      return absl::InvalidArgumentError(text);
    case 429:
      return absl::ResourceExhaustedError(text);
    case 404:
      return absl::NotFoundError(text);
    case 500:
      return absl::DataLossError(text);
    default:
      return absl::InternalError(text);
  }
}

template <typename T>
bool GetField(const json& j, const char* name, T* out) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return false;
  try {
    *out = it->get<T>();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

struct HttpAccessProvider::Client {
  explicit Client(net::HttpClientOptions o) : http(std::move(o)) {}
  net::HttpClient http;
};

HttpAccessProvider::HttpAccessProvider(HttpAccessOptions options) : opt_(std::move(options)) {}
HttpAccessProvider::~HttpAccessProvider() = default;

absl::StatusOr<std::unique_ptr<HttpAccessProvider>> HttpAccessProvider::Create(
    HttpAccessOptions options) {
  while (!options.server_url.empty() && options.server_url.back() == '/') {
    options.server_url.pop_back();
  }
  if (options.server_url.empty()) return absl::InvalidArgumentError("no vault URL");
  if (options.token.empty()) return absl::InvalidArgumentError("no service token");
  if (options.grant_id.empty()) return absl::InvalidArgumentError("no grant id");
  const bool https = options.server_url.rfind("https://", 0) == 0;
  if (!https && !net::IsLoopbackHttpUrl(options.server_url)) {
    return absl::InvalidArgumentError(
        "the vault URL must be https:// (plain http only to a loopback address, for tests): " +
        options.server_url);
  }
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (https) return absl::UnimplementedError("this build has no TLS support in its HTTP client");
#endif
  std::unique_ptr<HttpAccessProvider> p(new HttpAccessProvider(std::move(options)));
  net::HttpClientOptions co;
  co.base_url = p->opt_.server_url;
  co.ca_file = https ? p->opt_.ca_file : "";
  co.connect_timeout_s = p->opt_.connect_timeout_s;
  co.read_timeout_s = p->opt_.read_timeout_s;
  co.keep_alive = true;
  p->client_ = std::make_unique<Client>(std::move(co));
  return p;
}

namespace {

// The body of a 200 reply; otherwise the refusal as a Status, latched into
// `*refusal` when it means "stop" (see StatusOf), as is an unreachable vault.
absl::StatusOr<std::string> ReplyOf(absl::StatusOr<net::ClientResponse> r,
                                    absl::Status* refusal) {
  if (!r.ok()) {
    *refusal = r.status();
    return *refusal;
  }
  if (r->status == 200) return std::move(r->body);
  bool latch = false;
  absl::Status s = StatusOf(r->status, r->body, &latch);
  if (latch) *refusal = s;
  return s;
}

}  // namespace

absl::StatusOr<std::string> HttpAccessProvider::Get(
    const std::string& path, const std::vector<std::pair<std::string, std::string>>& params) {
  if (!refusal_.ok()) return refusal_;
  const net::HeaderList headers = {{"Authorization", "Bearer " + opt_.token}};
  return ReplyOf(client_->http.Send("GET", net::WithQuery(path, params), headers), &refusal_);
}

absl::StatusOr<std::string> HttpAccessProvider::Post(const std::string& path,
                                                     const std::string& json_body) {
  if (!refusal_.ok()) return refusal_;
  const net::HeaderList headers = {{"Authorization", "Bearer " + opt_.token}};
  return ReplyOf(client_->http.Send("POST", path, headers, json_body), &refusal_);
}

namespace {

class VaultBudgetLedger final : public BudgetLedger {
 public:
  // `post` sends a JSON body to POST /v1/export/dp/spend.
  VaultBudgetLedger(std::string grant_id,
                    std::function<absl::StatusOr<std::string>(const std::string&)> post)
      : grant_id_(std::move(grant_id)), post_(std::move(post)) {}
  absl::Status Spend(std::string_view contributor, std::string_view release_id,
                     const Rational& epsilon) override {
    json body = {{"grant_id", grant_id_},
                 {"contributor_id", std::string(contributor)},
                 {"release_id", std::string(release_id)},
                 {"epsilon", epsilon.ToString()}};
    return post_(body.dump()).status();
  }
  absl::StatusOr<Rational> Spent(std::string_view) override { return Unavailable(); }
  absl::StatusOr<Rational> Budget(std::string_view) override { return Unavailable(); }
  absl::Status SetBudget(std::string_view, const Rational&) override { return Unavailable(); }

 private:
  static absl::Status Unavailable() {
    return absl::UnimplementedError("budgets are kept and set by the vault");
  }
  std::string grant_id_;
  std::function<absl::StatusOr<std::string>(const std::string&)> post_;
};

}  // namespace

std::unique_ptr<BudgetLedger> HttpAccessProvider::VaultLedger() {
  return std::make_unique<VaultBudgetLedger>(
      opt_.grant_id, [this](const std::string& body) { return Post("/v1/export/dp/spend", body); });
}

absl::StatusOr<HttpAccessProvider::GrantInfo> HttpAccessProvider::OwnGrant() {
  absl::StatusOr<std::string> body = Get("/v1/export/grant", {{"grant_id", opt_.grant_id}});
  if (!body.ok()) return body.status();
  json j = json::parse(*body, nullptr, false);
  GrantInfo g;
  if (j.is_discarded() || !j.is_object() || !GetField(j, "purpose", &g.purpose) ||
      !GetField(j, "status", &g.status) || !GetField(j, "expires_us", &g.expires_us)) {
    return absl::DataLossError("the vault's grant reply is not the expected JSON");
  }
  return g;
}

absl::StatusOr<std::string> HttpAccessProvider::AuditCheckpoint() {
  return Get("/v1/audit/checkpoint", {});
}

absl::StatusOr<std::vector<SegmentInfo>> HttpAccessProvider::List() {
  absl::StatusOr<std::string> body =
      Get("/v1/export/segments", {{"grant_id", opt_.grant_id}, {"dataset", opt_.dataset_id}});
  if (!body.ok()) return body.status();
  json j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("segments") || !j["segments"].is_array()) {
    return absl::DataLossError("the vault's segment listing is not the expected JSON");
  }
  std::vector<SegmentInfo> out;
  listed_.clear();
  for (const json& s : j["segments"]) {
    std::string sid, cid, did;
    SegmentInfo info;
    if (!s.is_object() || !GetField(s, "segment_id", &sid) ||
        !GetField(s, "contributor_id", &cid) || !GetField(s, "device_id", &did) ||
        !GetField(s, "sequence", &info.sequence) || !GetField(s, "frame", &info.frame)) {
      return absl::DataLossError("a segment in the vault's listing lacks a field");
    }
    auto segment_id = Id16::FromHex(sid);
    auto contributor_id = Id16::FromHex(cid);
    auto device_id = Id16::FromHex(did);
    if (!segment_id || !contributor_id || !device_id) {
      return absl::DataLossError("a segment in the vault's listing has a malformed id");
    }
    info.segment_id = *segment_id;
    info.contributor_id = *contributor_id;
    info.device_id = *device_id;
    listed_[info.segment_id] = info;
    out.push_back(info);
  }
  return out;
}

absl::StatusOr<OpenedSegment> HttpAccessProvider::Fetch(const Id16& segment_id,
                                                        const SegmentInfo* expected, bool frame) {
  absl::StatusOr<std::string> body = Get("/v1/export/segment", {{"grant_id", opt_.grant_id},
                                                                {"segment_id", segment_id.Hex()},
                                                                {"dataset", opt_.dataset_id}});
  if (!body.ok()) return body.status();
  json j = json::parse(*body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("segments") || !j["segments"].is_array()) {
    return absl::DataLossError("the vault's segment reply is not the expected JSON");
  }
  const json& segs = j["segments"];
  if (segs.size() != 1 || !segs[0].is_object()) {
    std::string why = "the vault returned no segment";
    if (j.contains("errors") && j["errors"].is_array() && !j["errors"].empty() &&
        j["errors"][0].is_string()) {
      why = j["errors"][0].get<std::string>();
    }
    return absl::DataLossError(why);
  }
  const json& s = segs[0];
  std::string sid, cid;
  uint64_t sequence = 0;
  int64_t wall = 0;
  bool is_frame = false;
  if (!GetField(s, "segment_id", &sid) || !GetField(s, "contributor_id", &cid) ||
      !GetField(s, "sequence", &sequence) || !GetField(s, "wall_anchor_us", &wall) ||
      !GetField(s, "frame", &is_frame)) {
    return absl::DataLossError("the vault's segment reply lacks a field");
  }
  auto got_sid = Id16::FromHex(sid);
  auto got_cid = Id16::FromHex(cid);
  if (!got_sid || !got_cid || *got_sid != segment_id) {
    return absl::DataLossError("the vault returned a different segment than requested");
  }
  if (is_frame != frame) {
    return absl::DataLossError(frame ? "not a frame segment" : "a frame segment, not events");
  }
  OpenedSegment out;
  SegmentHeader& h = out.header;
  h.segment_id = *got_sid;
  h.contributor_id = *got_cid;
  h.sequence = sequence;
  h.wall_anchor_us = wall;
  h.start_mono_us = wall > 0 ? static_cast<uint64_t>(wall) : 0;  // see header comment
  h.flags = is_frame ? kFlagFramePayload : 0;
  if (expected != nullptr) {
    // The route does not carry the device id; it comes from the listing, once
    // everything the route does carry matches it (the exporter then checks the
    // header against the listing again).
    if (expected->contributor_id != h.contributor_id || expected->sequence != h.sequence) {
      return absl::DataLossError("segment reply does not match the listed metadata");
    }
    h.device_id = expected->device_id;
  }
  if (is_frame) {
    std::string b64;
    if (!GetField(s, "raw_base64", &b64) || b64.empty()) {
      return absl::FailedPreconditionError(
          "frame not released (the grant does not include the frames channel)");
    }
    absl::StatusOr<std::string> raw = FromBase64(b64);
    if (!raw.ok()) return absl::DataLossError("frame payload is not valid base64");
    out.raw = std::move(*raw);
  } else {
    auto evs = s.find("events");
    if (evs == s.end() || !evs->is_array()) {
      return absl::DataLossError("the vault's segment reply has no events array");
    }
    out.events.reserve(evs->size());
    for (const json& e : *evs) {
      if (!e.is_object()) return absl::DataLossError("an event in the reply is not an object");
      const std::string text = e.dump(-1, ' ', false, json::error_handler_t::replace);
      absl::StatusOr<v1::Event> ev = EventFromJson(text);
      if (!ev.ok()) {
        // The parser's message may quote the offending value (content): keep it out.
        return absl::DataLossError("an event in the vault's reply does not parse as v1.Event");
      }
      out.events.push_back(*std::move(ev));
    }
    h.event_count = static_cast<uint32_t>(out.events.size());
  }
  ++opens_;
  return out;
}

absl::StatusOr<OpenedSegment> HttpAccessProvider::Open(const SegmentInfo& segment) {
  return Fetch(segment.segment_id, &segment, /*frame=*/false);
}

absl::StatusOr<OpenedSegment> HttpAccessProvider::OpenFrame(const Id16& frame_id) {
  auto it = listed_.find(frame_id);
  return Fetch(frame_id, it == listed_.end() ? nullptr : &it->second, /*frame=*/true);
}

}  // namespace sealtrace::exporter
