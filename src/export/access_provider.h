// HttpAccessProvider: the exporter's SegmentProvider over the vault's access
// layer (HTTPS API, docs/API.md), acting as a service principal under a grant.
//
// This is how `sealtrace export` reaches plaintext: it never reads storage or
// holds a contributor key. List() calls GET /v1/export/segments (policy-checked
// and audited by the vault); Open()/OpenFrame() call GET /v1/export/segment,
// which the vault audits (durably, before the key is released) per segment and
// filters by the grant's channels and time range. Events arrive as protobuf
// JSON and are parsed back into v1::Event.
//
// Refusals: a 401/403 (grant expired, revoked or never approved; programme in
// INCIDENT; token revoked or expired; principal disabled), a 409 or 503 (the
// vault cannot audit, so it refuses: fail closed) or a transport failure is a
// reason to STOP, not a bad segment. The provider latches the first such
// refusal; CheckAuthorised() (wire it to Exporter::set_authorised) returns it,
// so the exporter stops cleanly before the next segment with its checkpoint
// intact and resumable. A 404 (segment deleted meanwhile) or 500 data_loss
// (segment failed authentication in the vault) is a per-segment error: the
// exporter skips and reports that segment.
//
// The listing carries ids, sequence, the frame flag and the coarse hour range
// (no exact times: SegmentInfo.start_mono_us stays 0; the exporter orders by
// sequence). The segment route's JSON carries segment_id, contributor_id,
// sequence, the exact wall_anchor_us (from the opened segment) and the frame
// flag, not the device id or the device monotonic start: the device id is
// taken from the listing (after checking the other fields match the request),
// and wall_anchor_us stands in for start_mono_us as the per-stream time base
// (the reducer needs only a consistent time axis within one device stream).
//
// Secrets: the bearer token is held in memory only and never logged; error
// messages carry the server's reason and rule, never content.
//
// Ownership: self-contained. Thread-safety: not thread-safe (the exporter
// calls a provider from one thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "export/dp.h"
#include "export/provider.h"

namespace sealtrace::exporter {

struct HttpAccessOptions {
  std::string server_url;  // https://host:port (or http://127.0.0.1:port for tests)
  std::string token;       // service principal's API token ("stp_...")
  std::string ca_file;     // PEM CA to verify the vault's certificate ("" = system store)
  std::string grant_id;
  std::string dataset_id;  // optional; passed to the vault (grant scope by dataset)
  int connect_timeout_s = 10;
  int read_timeout_s = 300;
};

class HttpAccessProvider final : public SegmentProvider {
 public:
  // Fails (INVALID_ARGUMENT) on an empty server, token or grant id.
  static absl::StatusOr<std::unique_ptr<HttpAccessProvider>> Create(HttpAccessOptions options);
  ~HttpAccessProvider() override;

  absl::StatusOr<std::vector<SegmentInfo>> List() override;
  absl::StatusOr<OpenedSegment> Open(const SegmentInfo& segment) override;
  absl::StatusOr<OpenedSegment> OpenFrame(const Id16& frame_id) override;

  // OK until the vault refused the export (or became unreachable); then the
  // latched refusal, e.g. PERMISSION_DENIED "HTTP 403 [rule grant.expired]: ...".
  absl::Status CheckAuthorised() const { return refusal_; }

  // This provider's grant as the vault shows it to its grantee
  // (GET /v1/export/grant): purpose, status ("approved", ...) and expiry.
  struct GrantInfo {
    std::string purpose;
    std::string status;
    int64_t expires_us = 0;
  };
  absl::StatusOr<GrantInfo> OwnGrant();

  // The latest signed audit checkpoint (GET /v1/audit/checkpoint), C2SP text.
  absl::StatusOr<std::string> AuditCheckpoint();

  uint64_t opens() const { return opens_; }

  // The vault's privacy-budget ledger, charged under this provider's grant
  // (POST /v1/export/dp/spend, audited by the vault). Spend() returns
  // RESOURCE_EXHAUSTED when the vault refuses the charge (budget spent);
  // Spent/Budget/SetBudget are the vault's business (UNIMPLEMENTED here).
  // The returned ledger borrows this provider.
  std::unique_ptr<BudgetLedger> VaultLedger();

 private:
  explicit HttpAccessProvider(HttpAccessOptions options);
  // GET `path` with query `params`. Non-2xx and transport failures become a
  // Status; refusals are latched (see above).
  absl::StatusOr<std::string> Get(const std::string& path,
                                  const std::vector<std::pair<std::string, std::string>>& params);
  // POST `path` with a JSON body; statuses as Get(), plus 429 -> RESOURCE_EXHAUSTED.
  absl::StatusOr<std::string> Post(const std::string& path, const std::string& json_body);
  absl::StatusOr<OpenedSegment> Fetch(const Id16& segment_id, const SegmentInfo* expected,
                                      bool frame);

  HttpAccessOptions opt_;
  struct Client;
  std::unique_ptr<Client> client_;
  absl::Status refusal_;
  std::map<Id16, SegmentInfo> listed_;  // segment id -> listing (device id for frames)
  uint64_t opens_ = 0;
};

}  // namespace sealtrace::exporter
