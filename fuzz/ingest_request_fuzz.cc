// libFuzzer target: arbitrary upload requests into IngestService, and arbitrary
// enrolment requests into EnrollService / ParseEnrollBody, against a real vault
// in a temporary directory.
//
// The first input byte picks a mode (mod 5); the rest is the payload:
//   0  body = payload, with a valid device token
//   1  body = payload with its contributor/device/key-id header fields patched to
//      the fuzzer's own device, so real segment files reach the identity,
//      duplicate/conflict and store paths
//   2  edit script over a valid segment built at start-up: repeated
//      [u16 offset][u8 xor] records, then a final u16 truncation length if 2 bytes remain
//   3  "Authorization header\n" + body: arbitrary credentials (the header line
//      also goes through ParseSpoolHeader)
//   4  enrolment: JSON body = payload (with the right secret), plus ParseBearer and
//      ValidateContributorName on the payload
//
// Invariants checked (abort on violation): a result is "stored"/"duplicate" only
// for bytes that validate and whose blob is present and equal; refusals never
// leave a metadata row for a segment that was not there before.
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "crypto/crypto.h"
#include "segment/format.h"
#include "vault/enroll.h"
#include "vault/ingest.h"
#include "vault/vault.h"

using namespace sealtrace;
using namespace sealtrace::vault;

namespace {

constexpr size_t kOffContributor = 16;
constexpr size_t kOffDevice = 32;
constexpr size_t kOffKeyId = 112;

struct State {
  std::string dir;
  std::unique_ptr<Vault> vault;
  std::string secret_auth;
  std::string device_auth;
  Id16 contributor, device;
  std::string public_key;
  std::string template_segment;
};

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "ingest_request_fuzz: invariant violated: %s\n", what);
    std::abort();
  }
}

State* Init() {
  spdlog::set_level(spdlog::level::warn);  // refusals are the normal case here
  auto* s = new State();
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "sealtrace-ingest-fuzz-XXXXXX").string();
  Check(mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
  s->dir = tmpl;
  static std::string dir_to_remove = tmpl;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(dir_to_remove, ec);
  });
  VaultOptions o;
  o.data_dir = s->dir + "/data";
  auto v = Vault::Open(o);
  Check(v.ok(), "vault opens");
  s->vault = std::move(*v);
  auto secret = Env::Default()->ReadFile(s->vault->enroll_secret_path());
  Check(secret.ok(), "secret readable");
  s->secret_auth = "Bearer " + secret->substr(0, secret->find('\n'));
  EnrollResult r = s->vault->enroll()->Enroll({s->secret_auth, R"({"name":"fuzzer"})"});
  Check(r.outcome == EnrollOutcome::kEnrolled, "enrol");
  s->device_auth = "Bearer " + r.device_token;
  s->contributor = *Id16::FromHex(r.contributor_id);
  s->device = *Id16::FromHex(r.device_id);
  s->public_key = r.contributor_public_key;
  SegmentBuilder::Params p;
  p.contributor_id = s->contributor;
  p.device_id = s->device;
  p.segment_id.b[0] = 1;
  p.sequence = 1;
  p.recipient_public_key = s->public_key;
  p.chunk_target_bytes = 64;
  SegmentBuilder b(p);
  for (int i = 0; i < 8; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i) * 10);
    e.mutable_key()->set_text("k");
    b.Add(e);
  }
  auto seg = b.Seal();
  Check(seg.ok(), "template seals");
  s->template_segment = *seg;
  return s;
}

State* GetState() {
  static State* s = Init();
  return s;
}

void RunUpload(State* s, std::string_view auth, std::string_view body) {
  auto header = ParseSegmentHeader(body);
  bool existed = false;
  if (header.ok()) {
    auto row = s->vault->store()->GetSegment(header->segment_id);
    existed = row.ok() && row->has_value();
  }
  IngestRequest req;
  req.authorization = auth;
  req.content_length = body.size();
  req.body = body;
  IngestResult r = s->vault->ingest()->Ingest(req);
  Check(!r.message.empty(), "every result has a reason");
  if (r.ok()) {
    Check(ValidateSegmentFraming(body).ok(), "accepted bytes validate");
    auto row = s->vault->store()->GetSegment(header->segment_id);
    Check(row.ok() && row->has_value(), "accepted segment has a row");
    auto blob = s->vault->blobs()->Get((*row)->blob_sha256);
    Check(blob.ok() && *blob == body, "accepted segment's blob equals the body");
  } else if (header.ok() && !existed) {
    auto row = s->vault->store()->GetSegment(header->segment_id);
    Check(row.ok() && !row->has_value(), "refused segment leaves no row");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  State* s = GetState();
  if (size == 0) return 0;
  const int mode = data[0] % 5;
  std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (mode) {
    case 0:
      RunUpload(s, s->device_auth, payload);
      break;
    case 1: {
      std::string body(payload);
      if (body.size() >= kSegmentHeaderBytes) {
        std::memcpy(&body[kOffContributor], s->contributor.b.data(), 16);
        std::memcpy(&body[kOffDevice], s->device.b.data(), 16);
        std::string kid = KeyIdOf(s->public_key);
        std::memcpy(&body[kOffKeyId], kid.data(), kKeyIdBytes);
      }
      RunUpload(s, s->device_auth, body);
      break;
    }
    case 2: {
      std::string body = s->template_segment;
      size_t i = 0;
      while (payload.size() - i >= 3) {
        size_t off = GetU16(payload.data() + i) % body.size();
        body[off] = static_cast<char>(body[off] ^ payload[i + 2]);
        i += 3;
      }
      if (payload.size() - i == 2) {
        body.resize(std::min<size_t>(body.size(), GetU16(payload.data() + i)));
      }
      RunUpload(s, s->device_auth, body);
      break;
    }
    case 3: {
      size_t nl = payload.find('\n');
      std::string_view auth = payload.substr(0, nl);
      std::string_view body = nl == std::string_view::npos ? "" : payload.substr(nl + 1);
      RunUpload(s, auth, body);
      // The same bytes as an agent's spool report (X-Sealtrace-Spool).
      if (auto rep = ParseSpoolHeader(auth)) {
        auto again = ParseSpoolHeader("segments=" + std::to_string(rep->segments) +
                                      ";bytes=" + std::to_string(rep->bytes));
        Check(again && again->segments == rep->segments && again->bytes == rep->bytes,
              "spool report round-trips");
      }
      break;
    }
    case 4: {
      (void)ParseBearer(payload);
      (void)ValidateContributorName(payload);
      auto name = ParseEnrollBody(payload);
      EnrollResult r = s->vault->enroll()->Enroll({s->secret_auth, payload});
      Check(name.ok() || r.outcome == EnrollOutcome::kInvalid, "a bad body is refused as invalid");
      Check(r.outcome != EnrollOutcome::kEnrolled || name.ok(), "only a valid body enrols");
      (void)r.ToJson();
      break;
    }
  }
  return 0;
}
