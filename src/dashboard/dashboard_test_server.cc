// dashboard_test_server: a real embedded vault with recorded data, serving the
// dashboard routes, for the browser tests in tests/dashboard/. Test-only.
//
//   dashboard_test_server --dir DIR [--port 0] [--host 127.0.0.1]
//
// Opens a Vault + access stack in DIR (which must be empty or absent), enrols
// two contributors (alice, bob), ingests sealed segments for each (made with
// SegmentBuilder; window titles carry HTML such as <script>alert(1)</script>
// and canary text), bootstraps two privacy officers and an operator, makes
// one audited officer read of alice's data under an approved grant, leaves
// one pending grant requested by each officer, signs a checkpoint, then prints
// "READY <json>" (URL, tokens and ids) on a line of stdout and serves:
//   /dashboard/...            the dashboard (dashboard.h)
//   GET /v1/device/state      as VaultServer serves it (vault/http_routes.h): the
//                             programme state AND the contributor's own pause
//   POST /__test/advance?seconds=N   advances the dashboard's session clock
//                             (this binary only), for the expiry tests
// Tokens printed here are test credentials of a throwaway vault.

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "access/access_service.h"
#include "access/signin.h"
#include "common/bytes.h"
#include "common/env.h"
#include "crypto/crypto.h"
#include "dashboard/dashboard.h"
#include "dashboard/pause.h"
#include "net/http_server.h"
#include "segment/format.h"
#include "vault/enroll.h"
#include "vault/http_routes.h"
#include "vault/ingest.h"
#include "vault/vault.h"

namespace sealtrace::dashboard {
namespace {

using json = nlohmann::json;

// Env::Default() with a wall/monotonic clock that tests can move forward.
class OffsetClockEnv final : public Env {
 public:
  explicit OffsetClockEnv(Env* base) : base_(base) {}
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& p,
                                                                int mode) override {
    return base_->NewWritableFile(p, mode);
  }
  absl::StatusOr<std::string> ReadFile(const std::string& p) override { return base_->ReadFile(p); }
  absl::Status RenameFile(const std::string& a, const std::string& b) override {
    return base_->RenameFile(a, b);
  }
  absl::Status RemoveFile(const std::string& p) override { return base_->RemoveFile(p); }
  absl::Status SyncDir(const std::string& d) override { return base_->SyncDir(d); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& d) override {
    return base_->ListDir(d);
  }
  absl::Status CreateDirs(const std::string& d, int mode) override {
    return base_->CreateDirs(d, mode);
  }
  absl::StatusOr<uint64_t> FileSize(const std::string& p) override { return base_->FileSize(p); }
  bool FileExists(const std::string& p) override { return base_->FileExists(p); }
  int64_t NowMonoMicros() override { return base_->NowMonoMicros() + offset_.load(); }
  int64_t NowWallMicros() override { return base_->NowWallMicros() + offset_.load(); }
  void SleepMicros(int64_t us) override { base_->SleepMicros(us); }
  void RandomBytes(void* out, size_t n) override { base_->RandomBytes(out, n); }
  void Advance(int64_t us) { offset_ += us; }

 private:
  Env* base_;
  std::atomic<int64_t> offset_{0};
};

[[noreturn]] void Die(const std::string& what, const absl::Status& s) {
  std::cerr << "dashboard_test_server: " << what << ": " << s << "\n";
  std::exit(1);
}

struct Passkey {
  std::string credential_id;  // base64url
  std::string private_key;    // PKCS#8 DER, standard base64 (for WebAuthn.addCredential)
  std::string user_handle;    // standard base64
};

struct Enrolled {
  std::string name, contributor_id, device_id, device_token, public_key, token;
  std::string principal_id, signin_code;
  Passkey passkey;
  std::vector<std::string> segments;
};

// An ES256 passkey registered for `p` whose private key the browser's virtual
// authenticator is given, so sign-in runs the real WebAuthn ceremony.
Passkey MakePasskey(access::AccessStack* stack, const access::Principal& p) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (key == nullptr) Die("passkey", absl::InternalError("EC keygen failed"));
  unsigned char point[65];
  size_t n = 0;
  if (EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &n) != 1 ||
      n != 65) {
    Die("passkey", absl::InternalError("cannot export the public point"));
  }
  PKCS8_PRIV_KEY_INFO* p8 = EVP_PKEY2PKCS8(key);
  unsigned char* der = nullptr;
  const int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
  Passkey out;
  out.private_key = Base64(std::string(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
  PKCS8_PRIV_KEY_INFO_free(p8);
  EVP_PKEY_free(key);
  access::PasskeyRecord rec;
  rec.credential_id = RandomBytes(16);
  rec.principal_id = p.id;
  rec.alg = access::webauthn::kAlgES256;
  rec.public_key = std::string(reinterpret_cast<char*>(point), 65);
  rec.label = "test authenticator";
  rec.created_us = Env::Default()->NowWallMicros();
  if (auto st = stack->store->PutPasskey(rec); !st.ok()) Die("put passkey", st);
  out.credential_id = Base64Url(rec.credential_id);
  out.user_handle = Base64(p.id);
  return out;
}

v1::Event Ev(uint64_t t) {
  v1::Event e;
  e.set_t_us(t);
  return e;
}

// A segment of scripted activity: a browser window whose title carries HTML,
// typing with a canary word, a redacted card number, clicks, an excluded app.
std::string MakeSegment(const Enrolled& who, uint64_t seq, int64_t anchor, Id16* segment_id) {
  SegmentBuilder::Params p;
  p.contributor_id = *Id16::FromHex(who.contributor_id);
  p.device_id = *Id16::FromHex(who.device_id);
  std::string r = RandomBytes(16);
  std::copy(r.begin(), r.end(), p.segment_id.b.begin());
  *segment_id = p.segment_id;
  p.sequence = seq;
  p.wall_anchor_us = anchor;
  p.start_mono_us = 1000 + seq;
  p.recipient_public_key = who.public_key;
  SegmentBuilder b(p);
  uint64_t t = 0;
  v1::Event f = Ev(t);
  f.mutable_focus()->set_app_class("Firefox");
  f.mutable_focus()->set_window_id(7);
  f.mutable_focus()->set_title(
      "<script>alert(1)</script><img src=x onerror=alert(2)> canary-title-" + who.name);
  b.Add(f);
  const std::string word = "canary-typed-" + who.name;
  for (char c : word) {
    t += 150'000;
    v1::Event k = Ev(t);
    k.mutable_key()->set_down(true);
    k.mutable_key()->set_text(std::string(1, c));
    b.Add(k);
  }
  t += 500'000;
  v1::Event red = Ev(t);
  red.mutable_redaction()->set_kind("payment_card");
  red.mutable_redaction()->set_length_bucket(32);
  red.mutable_redaction()->set_key_events(19);
  b.Add(red);
  for (int i = 0; i < 3; ++i) {
    t += 700'000;
    v1::Event c = Ev(t);
    c.mutable_pointer()->set_kind(v1::PointerEvent::BUTTON_DOWN);
    c.mutable_pointer()->set_button(1);
    c.mutable_pointer()->set_x(100 + i * 10);
    c.mutable_pointer()->set_y(200);
    b.Add(c);
  }
  t += 1'000'000;
  v1::Event term = Ev(t);
  term.mutable_focus()->set_app_class("XTerm");
  term.mutable_focus()->set_title("\"><b>bold</b> terminal");
  b.Add(term);
  t += 20'000'000;
  v1::Event enter = Ev(t);
  enter.mutable_control()->set_kind(v1::ControlEvent::EXCLUDED_ENTER);
  b.Add(enter);
  t += 30'000'000;
  v1::Event leave = Ev(t);
  leave.mutable_control()->set_kind(v1::ControlEvent::EXCLUDED_LEAVE);
  b.Add(leave);
  t += 1'000'000;
  v1::Event k = Ev(t);
  k.mutable_key()->set_down(true);
  k.mutable_key()->set_text("\n");
  b.Add(k);
  auto sealed = b.Seal();
  if (!sealed.ok()) Die("seal", sealed.status());
  return *sealed;
}

int Main(int argc, char** argv) {
  std::string dir, host = "127.0.0.1";
  int port = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "missing value for " << a << "\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") {
      dir = next();
    } else if (a == "--port") {
      port = std::stoi(next());
    } else if (a == "--host") {
      host = next();
    } else {
      std::cerr << "usage: dashboard_test_server --dir DIR [--port N] [--host H]\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "--dir is required\n";
    return 2;
  }
  vault::VaultOptions vo;
  vo.data_dir = dir;
  auto vault = vault::Vault::Open(vo);
  if (!vault.ok()) Die("open vault", vault.status());
  auto stack = access::OpenAccessStack(vault->get());
  if (!stack.ok()) Die("open access stack", stack.status());
  access::AccessService* svc = (*stack)->service.get();
  Env* env = Env::Default();

  auto secret = vault::LoadOrCreateSecretFile(env, (*vault)->enroll_secret_path());
  if (!secret.ok()) Die("enrolment secret", secret.status());
  auto enrol = [&](const std::string& name) {
    Enrolled e;
    e.name = name;
    const std::string auth = "Bearer " + *secret;
    const std::string body = json{{"name", name}}.dump();
    vault::EnrollResult r = (*vault)->enroll()->Enroll({auth, body});
    if (r.outcome != vault::EnrollOutcome::kEnrolled) {
      Die("enrol " + name, absl::InternalError(r.message));
    }
    e.contributor_id = r.contributor_id;
    e.device_id = r.device_id;
    e.device_token = r.device_token;
    e.public_key = r.contributor_public_key;
    auto pr = svc->OnEnrolled(r.contributor_id, r.device_id, name, r.new_contributor);
    if (!pr.ok()) Die("contributor principal", pr.status());
    auto tok = svc->MintSignInToken(*pr, "passkey", "test", 0);  // for API calls in the tests
    if (!tok.ok()) Die("contributor token", tok.status());
    e.token = tok->token;
    // A passkey for the browser's virtual authenticator (WebAuthn.addCredential),
    // so the browser signs in through the real ceremony.
    e.passkey = MakePasskey(stack->get(), *pr);
    auto code = (*stack)->signin->IssueEnrolmentCode(*pr);
    if (!code.ok()) Die("sign-in code", code.status());
    e.signin_code = code->code;
    e.principal_id = pr->id;
    return e;
  };
  Enrolled alice = enrol("alice");
  Enrolled bob = enrol("bob");
  Enrolled carol = enrol("carol");  // registers her own passkey in the browser test
  const int64_t now = env->NowWallMicros();
  for (Enrolled* who : {&alice, &bob}) {
    // Three segments: 3 h, 2 h and 10 min ago.
    const int64_t anchors[] = {now - 3 * 3600LL * 1000000, now - 2 * 3600LL * 1000000,
                               now - 600LL * 1000000};
    uint64_t seq = 1;
    for (int64_t anchor : anchors) {
      Id16 sid;
      const std::string file = MakeSegment(*who, seq, anchor, &sid);
      const std::string auth = "Bearer " + who->device_token;
      vault::IngestRequest req;
      req.authorization = auth;
      req.body = file;
      req.content_length = file.size();
      vault::IngestResult res = (*vault)->ingest()->Ingest(req);
      if (!res.ok()) Die("ingest", absl::InternalError(res.message));
      who->segments.push_back(sid.Hex());
      ++seq;
    }
  }
  auto officer_a = svc->BootstrapPrincipal(access::Role::kPrivacyOfficer, "officer-a");
  auto officer_b = svc->BootstrapPrincipal(access::Role::kPrivacyOfficer, "officer-b");
  auto op = svc->BootstrapPrincipal(access::Role::kOperator, "operator");
  if (!officer_a.ok() || !officer_b.ok() || !op.ok()) {
    Die("bootstrap principals", absl::InternalError("bootstrap failed"));
  }
  auto principal = [&](const access::IssuedToken& t) {
    auto p = svc->Authenticate("Bearer " + t.token, "", "test-setup");
    if (!p.ok()) Die("authenticate", p.status());
    return *p;
  };
  access::Principal pa = principal(*officer_a);
  access::Principal pb = principal(*officer_b);
  auto request = [&](const access::Principal& who, const std::string& purpose,
                     const std::string& contributor) {
    access::GrantRequest r;
    r.purpose = purpose;
    r.scope.contributors = {contributor};
    r.scope.from_us = now - 86400LL * 1000000;
    r.scope.to_us = now + 3600LL * 1000000;
    r.scope.channels = access::kChannelKeys | access::kChannelFocus;
    r.expires_us = now + 86400LL * 1000000;
    auto g = svc->RequestGrant(who, r);
    if (!g.ok()) Die("request grant", g.status());
    return *g;
  };
  // An approved grant and one audited officer read of alice's data.
  access::Grant investigated =
      request(pa, "Investigate support ticket 4711 (alice consented)", alice.contributor_id);
  if (auto g = svc->ApproveGrant(pb, investigated.id); !g.ok()) Die("approve", g.status());
  auto read = svc->Read(pa, investigated.id, alice.contributor_id, now - 86400LL * 1000000,
                        now + 3600LL * 1000000, 0);
  if (!read.ok()) Die("officer read", read.status());
  // Pending grants, one requested by each officer.
  access::Grant pending_a = request(pa, "Quality review <i>requested by A</i>", bob.contributor_id);
  access::Grant pending_b = request(pb, "Dataset audit requested by B", alice.contributor_id);
  if (auto cp = (*stack)->log->Checkpoint(); !cp.ok()) Die("checkpoint", cp.status());

  OffsetClockEnv clock(env);
  net::HttpServer server;
  DashboardDeps deps;
  deps.access = svc;
  deps.signin = (*stack)->signin.get();
  deps.audit_log = (*stack)->log.get();
  deps.vault = vault->get();
  deps.env = &clock;
  deps.checkpoint_min_interval_us = 0;  // every verify may sign (test only)
  RegisterDashboardRoutes(server, deps);
  vault::Vault* v = vault->get();
  // The device's view, as VaultServer serves it (the contributor's pause included).
  server.AddRoute(net::Route::Get("/v1/device/state", [v](const net::HttpRequest& req) {
    return vault::DeviceStateResponse(v->GetDeviceState(req.Header("Authorization"), std::nullopt));
  }));
  server.AddRoute(
      net::Route::Make("POST", "/__test/advance", 0, [&clock](const net::HttpRequest& req) {
        auto it = req.query.find("seconds");
        clock.Advance(std::stoll(it == req.query.end() ? "0" : it->second) * 1000000);
        return net::HttpResponse::Text(200, "ok\n");
      }));
  auto bound_or = server.Bind(host, port);
  if (!bound_or.ok()) Die("bind", bound_or.status());
  const int bound = *bound_or;
  auto who = [](const Enrolled& e) {
    return json{{"name", e.name},
                {"token", e.token},
                {"principal_id", e.principal_id},
                {"signin_code", e.signin_code},
                {"passkey",
                 {{"credential_id", e.passkey.credential_id},
                  {"private_key", e.passkey.private_key},
                  {"user_handle", e.passkey.user_handle}}},
                {"device_token", e.device_token},
                {"contributor_id", e.contributor_id},
                {"device_id", e.device_id},
                {"segments", e.segments}};
  };
  // Passkeys are bound to the host name "localhost" (an IP address cannot be a
  // WebAuthn relying party id).
  const std::string shown = host == "127.0.0.1" ? "localhost" : host;
  json out = {{"url", "http://" + shown + ":" + std::to_string(bound)},
              {"alice", who(alice)},
              {"bob", who(bob)},
              {"carol", who(carol)},
              {"officer_a", {{"token", officer_a->token}, {"principal_id", pa.id}}},
              {"officer_b", {{"token", officer_b->token}, {"principal_id", pb.id}}},
              {"operator", {{"token", op->token}}},
              {"grants",
               {{"approved", investigated.id},
                {"pending_by_a", pending_a.id},
                {"pending_by_b", pending_b.id}}}};
  std::cout << "READY " << out.dump() << std::endl;  // spdlog also writes to stdout
  if (!server.Serve().ok()) return 1;
  return 0;
}

}  // namespace
}  // namespace sealtrace::dashboard

int main(int argc, char** argv) { return sealtrace::dashboard::Main(argc, argv); }
