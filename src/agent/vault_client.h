// VaultClient: the agent's view of the vault's HTTP API (docs/API.md).
// An interface so tests can inject failures; HttpVaultClient is the real one.
// Thread-safety: HttpVaultClient is safe for concurrent calls.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/bytes.h"

namespace sealtrace {

struct UploadResponse {
  int http_status = 0;       // 0 when no HTTP answer came (network error)
  std::string result;        // "stored" | "duplicate" on 200
  std::string error_code;    // e.g. "malformed", "conflict"
  std::string message;
  // True when the vault durably holds the segment (stored or duplicate).
  bool acknowledged() const { return http_status == 200 && (result == "stored" || result == "duplicate"); }
  // True when retrying the same bytes can never succeed.
  bool permanent_refusal() const {
    return http_status == 400 || http_status == 403 || http_status == 409 || http_status == 413;
  }
};

struct DeviceState {
  std::string programme_state = "ACTIVE";  // ACTIVE | PAUSED | INCIDENT
  bool recording_allowed = true;
  bool contributor_paused = false;  // the contributor paused from the dashboard
  // The programme's window-title policy: "full" | "app-and-domain" |
  // "app-only" (a vault that does not send one has none: "full"). Passed on as
  // received; the privacy gate reads a value it does not know as "app-only".
  std::string title_policy = "full";
  bool operator==(const DeviceState&) const = default;
};

struct EnrolResponse {
  Id16 contributor_id;
  Id16 device_id;
  std::string device_token;
  std::string contributor_public_key;  // raw 32 bytes
  // A new contributor's single-use code for registering their first passkey
  // in the dashboard (show it once; never write it to disk). Empty when the
  // device joined an existing contributor with a device code.
  std::string signin_code;
  int64_t signin_code_expires_us = 0;
  std::string signin_path;  // e.g. "/dashboard/register"
};

// What a device tells the vault about itself with each state poll (fleet
// health for operators; no content).
struct DeviceReport {
  bool has_spool = false;
  uint64_t spool_segments = 0;  // sealed segments waiting for upload
  uint64_t spool_bytes = 0;
};

class VaultClient {
 public:
  virtual ~VaultClient() = default;
  // Network failures are returned as UploadResponse{http_status=0}, not errors.
  virtual UploadResponse UploadSegment(std::string_view bytes, const Id16& segment_id) = 0;
  virtual absl::StatusOr<DeviceState> GetDeviceState(const DeviceReport& report) = 0;
};

// `server_url` is http://host:port or https://host:port. `ca_file` (PEM)
// verifies https servers; empty uses the system store.
std::unique_ptr<VaultClient> NewHttpVaultClient(const std::string& server_url,
                                                const std::string& device_token,
                                                const std::string& ca_file = "");

// POST /v1/enroll: a new contributor with the enrolment secret, or, with
// `device_code` (the secret may then be empty), this device joins the
// contributor who created the code. The vault refuses a taken name (409).
absl::StatusOr<EnrolResponse> EnrolOverHttp(const std::string& server_url,
                                            const std::string& enrol_secret,
                                            const std::string& name,
                                            const std::string& ca_file = "",
                                            const std::string& device_code = "",
                                            const std::string& invitation = "");

}  // namespace sealtrace
