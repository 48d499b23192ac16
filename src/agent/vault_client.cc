#include "agent/vault_client.h"

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "net/http_client.h"

namespace sealtrace {
namespace {

net::HttpClientOptions ClientOptions(const std::string& url, const std::string& ca_file) {
  net::HttpClientOptions o;
  o.base_url = url;
  o.ca_file = ca_file;
  o.connect_timeout_s = 5;
  o.read_timeout_s = 30;
  o.write_timeout_s = 30;
  return o;
}

class HttpVaultClient final : public VaultClient {
 public:
  HttpVaultClient(const std::string& url, std::string token, const std::string& ca_file)
      : http_(ClientOptions(url, ca_file)), token_(std::move(token)) {}

  UploadResponse UploadSegment(std::string_view bytes, const Id16& segment_id) override {
    UploadResponse out;
    auto res = http_.Send("POST", "/v1/segments",
                          {{"Authorization", "Bearer " + token_},
                           {"X-Sealtrace-Segment-Id", segment_id.Hex()}},
                          bytes, "application/octet-stream");
    if (!res.ok()) {
      out.message = std::string(res.status().message());
      return out;
    }
    out.http_status = res->status;
    auto j = nlohmann::json::parse(res->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) {
      out.result = j.value("status", "");
      out.error_code = j.value("error", "");
      out.message = j.value("message", "");
    } else {
      out.message = "unexpected response body";
    }
    return out;
  }

  absl::StatusOr<DeviceState> GetDeviceState(const DeviceReport& report) override {
    net::HeaderList headers{{"Authorization", "Bearer " + token_}};
    if (report.has_spool) {
      headers.emplace_back("X-Sealtrace-Spool",
                           "segments=" + std::to_string(report.spool_segments) +
                               ";bytes=" + std::to_string(report.spool_bytes));
    }
    auto res = http_.Send("GET", "/v1/device/state", headers);
    if (!res.ok()) return res.status();
    if (res->status != 200) {
      return absl::UnavailableError("device state: HTTP " + std::to_string(res->status));
    }
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (!j.is_object()) return absl::DataLossError("device state: bad JSON");
    DeviceState s;
    s.programme_state = j.value("programme_state", "ACTIVE");
    s.recording_allowed = j.value("recording_allowed", true);
    s.contributor_paused = j.value("contributor_paused", false);
    if (auto tp = j.find("title_policy"); tp != j.end()) {
      // Present but not a string: an answer we do not understand; the gate
      // reads the unknown name as its strictest policy.
      s.title_policy = tp->is_string() ? tp->get<std::string>() : "invalid";
    }
    return s;
  }

 private:
  net::HttpClient http_;
  std::string token_;
};

}  // namespace

std::unique_ptr<VaultClient> NewHttpVaultClient(const std::string& server_url,
                                                const std::string& device_token,
                                                const std::string& ca_file) {
  return std::make_unique<HttpVaultClient>(server_url, device_token, ca_file);
}

absl::StatusOr<EnrolResponse> EnrolOverHttp(const std::string& server_url,
                                            const std::string& enrol_secret,
                                            const std::string& name,
                                            const std::string& ca_file,
                                            const std::string& device_code,
                                            const std::string& invitation) {
  net::HttpClient http(ClientOptions(server_url, ca_file));
  nlohmann::json body{{"name", name}};
  if (!device_code.empty()) body = {{"device_code", device_code}};
  if (!invitation.empty()) body = {{"invitation", invitation}};
  net::HeaderList headers;
  if (!enrol_secret.empty()) headers.emplace_back("Authorization", "Bearer " + enrol_secret);
  auto res = http.Send("POST", "/v1/enroll", headers, body.dump());
  if (!res.ok()) return res.status();
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string msg = j.is_object() ? j.value("message", res->body) : res->body;
    return absl::PermissionDeniedError("enrolment refused (HTTP " + std::to_string(res->status) +
                                       "): " + msg);
  }
  if (!j.is_object()) return absl::DataLossError("enrolment: bad JSON from the vault");
  EnrolResponse out;
  auto cid = Id16::FromHex(j.value("contributor_id", ""));
  auto did = Id16::FromHex(j.value("device_id", ""));
  auto pk = FromBase64(j.value("contributor_public_key", ""));
  out.device_token = j.value("device_token", "");
  out.signin_code = j.value("signin_code", "");
  out.signin_path = j.value("signin_path", "");
  try {
    out.signin_code_expires_us = std::stoll(j.value("signin_code_expires_us", "0"));
  } catch (const std::exception&) {
    out.signin_code_expires_us = 0;
  }
  if (!cid || !did || !pk.ok() || pk->size() != kPublicKeyBytes || out.device_token.empty()) {
    return absl::DataLossError("enrolment: incomplete answer from the vault");
  }
  out.contributor_id = *cid;
  out.device_id = *did;
  out.contributor_public_key = *pk;
  return out;
}

}  // namespace sealtrace
