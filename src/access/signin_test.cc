// SignInService over a real vault and access store: codes, passkey
// registration and sign-in with a software authenticator, step-up, terminal
// approval, device codes, recovery, and every refusal audited.
#include "access/signin.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "access/access_test_util.h"
#include "access/webauthn_test_util.h"

namespace sealtrace::access {
namespace {

using json = nlohmann::json;
using testing::AccessFixture;
using testing::SoftAuthenticator;

const std::vector<std::string> kOrigins = {"http://localhost:8420"};

std::string ChallengeOf(const Ceremony& c) {
  json o = json::parse(c.options_json);
  return *FromBase64Url(o["challenge"].get<std::string>());
}

class SignInTest : public ::testing::Test, public AccessFixture {
 protected:
  SignInTest() : signin(svc.get(), store.get(), SignInOptions{}) {}

  // Enrols `name` through the vault and the access layer, as the server does.
  Principal EnrolNew(const std::string& name, IssuedCode* code) {
    auto secret = Env::Default()->ReadFile(vault_->enroll_secret_path());
    std::string s = secret->substr(0, secret->find('\n'));
    auto r = vault_->enroll()->Enroll({"Bearer " + s, "{\"name\":\"" + name + "\"}"});
    EXPECT_EQ(r.outcome, vault::EnrollOutcome::kEnrolled) << r.message;
    auto p = svc->OnEnrolled(r.contributor_id, r.device_id, name, true);
    EXPECT_TRUE(p.ok()) << p.status();
    auto c = signin.IssueEnrolmentCode(*p);
    EXPECT_TRUE(c.ok()) << c.status();
    *code = *c;
    device_token_[name] = r.device_token;
    return *p;
  }

  absl::StatusOr<SignedIn> Register(const std::string& code, SoftAuthenticator& a) {
    auto c = signin.BeginRegistration(code);
    if (!c.ok()) return c.status();
    return signin.FinishRegistration(c->id, a.Register(ChallengeOf(*c)), kOrigins, "test");
  }
  absl::StatusOr<SignedIn> SignIn(SoftAuthenticator& a, const Principal* step_up = nullptr) {
    auto c = signin.BeginSignIn(step_up);
    if (!c.ok()) return c.status();
    return signin.FinishSignIn(c->id, a.credential_id(), a.Assert(ChallengeOf(*c)), kOrigins,
                               "test", step_up);
  }
  // Rules of the refusals recorded since audit index `from`.
  std::vector<std::string> RefusalsSince(uint64_t from) {
    std::vector<std::string> out;
    for (uint64_t i = from; i < log->Size(); ++i) {
      auto e = log->Entry(i);
      if (e.ok() && e->kind == audit::AuditKind::kRefused) out.push_back(e->rule);
    }
    return out;
  }

  SignInService signin;
  std::map<std::string, std::string> device_token_;
};

TEST_F(SignInTest, CodeRegistersAPasskeyOnceAndThePasskeySignsIn) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  EXPECT_EQ(code.code.size(), 23u);  // XXXXX-XXXXX-XXXXX-XXXXX
  SoftAuthenticator key;
  auto reg = Register(code.code, key);
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ(reg->principal.id, alice.id);
  auto me = svc->Authenticate("Bearer " + reg->token.token, kScopeMe, "test");
  ASSERT_TRUE(me.ok()) << me.status();
  EXPECT_EQ(me->auth_method, "passkey");
  EXPECT_EQ(me->token_id, reg->token.token_id);

  // The code worked once: a second registration with it is refused.
  const uint64_t before = log->Size();
  SoftAuthenticator thief;
  auto again = Register(code.code, thief);
  EXPECT_TRUE(absl::IsPermissionDenied(again.status())) << again.status();
  EXPECT_EQ(RuleOf(again.status()), "signin.code_used");
  // Typed in lower case with spaces: the same code (normalised), still used.
  std::string typed = code.code;
  for (char& ch : typed) ch = static_cast<char>(std::tolower(ch));
  EXPECT_EQ(RuleOf(Register(typed, thief).status()), "signin.code_used");
  EXPECT_EQ(RefusalsSince(before),
            (std::vector<std::string>{"signin.code_used", "signin.code_used"}));

  key.counter = 1;
  auto in = SignIn(key);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->principal.id, alice.id);
  // A read under the passkey session names its credential in the audit log.
  auto p = svc->Authenticate("Bearer " + in->token.token, kScopeMe, "test");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(svc->ReadOwn(*p, 0, INT64_MAX).ok());
  auto last = log->Entry(log->Size() - 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->extra["auth_method"], "passkey");
  EXPECT_EQ(last->extra["credential"], in->token.token_id);
}

TEST_F(SignInTest, ForgedReplayedAndClonedAssertionsAreRefusedAndAudited) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  SoftAuthenticator key;
  ASSERT_TRUE(Register(code.code, key).ok());
  const uint64_t before = log->Size();
  // Unknown credential.
  SoftAuthenticator stranger;
  EXPECT_EQ(RuleOf(SignIn(stranger).status()), "webauthn.credential");
  // Replay: the same assertion bytes on a second ceremony.
  auto c1 = signin.BeginSignIn(nullptr);
  ASSERT_TRUE(c1.ok());
  key.counter = 5;
  webauthn::Assertion a1 = key.Assert(ChallengeOf(*c1));
  ASSERT_TRUE(signin.FinishSignIn(c1->id, key.credential_id(), a1, kOrigins, "t").ok());
  auto c2 = signin.BeginSignIn(nullptr);
  EXPECT_EQ(RuleOf(signin.FinishSignIn(c2->id, key.credential_id(), a1, kOrigins, "t").status()),
            "webauthn.challenge");
  // The ceremony id itself works once.
  EXPECT_EQ(RuleOf(signin.FinishSignIn(c1->id, key.credential_id(), a1, kOrigins, "t").status()),
            "webauthn.challenge");
  // Counter going backwards: a cloned authenticator.
  key.counter = 3;
  EXPECT_EQ(RuleOf(SignIn(key).status()), "webauthn.counter");
  // Wrong origin.
  key.counter = 9;
  key.origin = "https://evil.example";
  EXPECT_EQ(RuleOf(SignIn(key).status()), "webauthn.origin");
  key.origin = kOrigins[0];
  // Expired ceremony.
  auto c3 = signin.BeginSignIn(nullptr);
  env_.AdvanceMicros(signin.options().ceremony_ttl_us + 1);
  EXPECT_EQ(RuleOf(signin.FinishSignIn(c3->id, key.credential_id(), key.Assert(ChallengeOf(*c3)),
                                       kOrigins, "t")
                       .status()),
            "webauthn.challenge");
  EXPECT_EQ(RefusalsSince(before),
            (std::vector<std::string>{"webauthn.credential", "webauthn.challenge",
                                      "webauthn.challenge", "webauthn.counter", "webauthn.origin",
                                      "webauthn.challenge"}));
  // Still works with the right counter.
  key.counter = 10;
  EXPECT_TRUE(SignIn(key).ok());
  (void)alice;
}

TEST_F(SignInTest, CodesExpireAndStepUpNeedsTheSignedInPersonsPasskey) {
  IssuedCode a_code, b_code;
  Principal alice = EnrolNew("alice", &a_code);
  Principal bob = EnrolNew("bob", &b_code);
  SoftAuthenticator ak, bk;
  ASSERT_TRUE(Register(a_code.code, ak).ok());
  env_.AdvanceMicros(signin.options().code_ttl_us + 1);
  EXPECT_EQ(RuleOf(Register(b_code.code, bk).status()), "signin.code_expired");
  // A recovery code from a privacy officer (not from an operator).
  EXPECT_EQ(RuleOf(signin.IssueRecoveryCode(op, bob.contributor_id).status()),
            "signin.recovery_officer_only");
  auto rec = signin.IssueRecoveryCode(po1, bob.contributor_id);
  ASSERT_TRUE(rec.ok()) << rec.status();
  ASSERT_TRUE(Register(rec->code, bk).ok());
  // Bob sees the recovery code in his own audit view.
  auto bob_me = svc->Authenticate("Bearer " + SignIn(bk)->token.token, kScopeMe, "t");
  ASSERT_TRUE(bob_me.ok());
  auto entries = svc->AuditEntries(*bob_me, "");
  ASSERT_TRUE(entries.ok());
  bool saw_recovery = false;
  for (const auto& e : *entries) saw_recovery |= e.entry.actor_id == po1.id;
  EXPECT_TRUE(saw_recovery);
  // Step-up for alice with bob's passkey is refused.
  ak.counter = 2;
  bk.counter = 2;
  EXPECT_EQ(RuleOf(SignIn(bk, &alice).status()), "signin.step_up_mismatch");
  auto stepped = SignIn(ak, &alice);
  ASSERT_TRUE(stepped.ok()) << stepped.status();
  EXPECT_TRUE(stepped->token.token.empty()) << "a step-up mints no token";
  auto last = log->Entry(log->Size() - 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->rule, "signin.step_up");
  // A plain sign-in ceremony (anyone may begin one) is no step-up for alice,
  // even with a valid assertion by someone's passkey.
  bk.counter = 3;
  auto plain = signin.BeginSignIn(nullptr);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(RuleOf(signin.FinishSignIn(plain->id, bk.credential_id(), bk.Assert(ChallengeOf(*plain)),
                                       kOrigins, "t", &alice)
                       .status()),
            "signin.step_up_mismatch");
  // Nor the other way round: a step-up ceremony does not sign anyone in.
  ak.counter = 4;
  auto step = signin.BeginSignIn(&alice);
  EXPECT_EQ(RuleOf(signin.FinishSignIn(step->id, ak.credential_id(), ak.Assert(ChallengeOf(*step)),
                                       kOrigins, "t")
                       .status()),
            "signin.step_up_mismatch");
}

TEST_F(SignInTest, OperatorInvitationsEnrolOneNamedContributorOnce) {
  IssuedCode code;
  EnrolNew("alice", &code);
  EXPECT_EQ(RuleOf(signin.IssueInvitation(po1, "dave").status()), "signin.invitation_operator_only");
  EXPECT_TRUE(absl::IsAlreadyExists(signin.IssueInvitation(op, "alice").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(signin.IssueInvitation(op, " ").status()));
  auto inv = signin.IssueInvitation(op, "dave");
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_GE(inv->expires_us - env_.NowWallMicros(), 6LL * 86400 * 1000000);
  vault_->enroll()->SetInvitationCheck(
      [this](std::string_view c) { return signin.UseInvitation(c); });
  // No enrolment secret; the name comes from the invitation, not the request.
  auto r = vault_->enroll()->Enroll({"", "{\"invitation\":\"" + inv->code + "\",\"name\":\"eve\"}"});
  ASSERT_EQ(r.outcome, vault::EnrollOutcome::kEnrolled) << r.message;
  EXPECT_TRUE(r.new_contributor);
  EXPECT_EQ(r.via, "invitation");
  EXPECT_EQ(r.name, "dave");
  auto again = vault_->enroll()->Enroll({"", "{\"invitation\":\"" + inv->code + "\"}"});
  EXPECT_EQ(again.outcome, vault::EnrollOutcome::kCodeRefused);
  // A contributor enrolled where no access layer ran (a scale gateway) has no
  // principal yet: an officer's recovery code creates it and lets them in.
  auto rec = signin.IssueRecoveryCode(po1, r.contributor_id);
  ASSERT_TRUE(rec.ok()) << rec.status();
  SoftAuthenticator key;
  auto in = Register(rec->code, key);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->principal.contributor_id, r.contributor_id);
  EXPECT_EQ(in->principal.name, "dave");
}

TEST_F(SignInTest, ContributorTokensFromBeforePasskeysReadNothing) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  // What older versions minted at enrolment and wrote beside agent.toml.
  const std::string old = "stp_" + Base64Url(RandomBytes(32));
  TokenRecord t{"t_old", alice.id, Sha256(old), {kScopeMe}, env_.NowWallMicros(),
                env_.NowWallMicros() + 86400LL * 1000000, 0, "token", ""};
  ASSERT_TRUE(store->PutToken(t).ok());
  auto p = svc->Authenticate("Bearer " + old, kScopeMe, "/v1/me/read");
  EXPECT_TRUE(absl::IsUnauthenticated(p.status())) << p.status();
  EXPECT_EQ(RuleOf(p.status()), "token.contributor_signin");
}

TEST_F(SignInTest, ASignedInContributorAddsASecondPasskey) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  SoftAuthenticator laptop, phone(webauthn::kAlgEdDSA);
  auto reg = Register(code.code, laptop);
  ASSERT_TRUE(reg.ok());
  auto session = svc->Authenticate("Bearer " + reg->token.token, kScopeMe, "t");
  ASSERT_TRUE(session.ok());
  // Not from a token that did not come from a passkey.
  Principal by_token = *session;
  by_token.auth_method = "device_flow";
  EXPECT_EQ(RuleOf(signin.BeginAddPasskey(by_token).status()), "signin.passkey_required");
  auto c = signin.BeginAddPasskey(*session);
  ASSERT_TRUE(c.ok()) << c.status();
  json o = json::parse(c->options_json);
  ASSERT_EQ(o["excludeCredentials"].size(), 1u);  // the laptop's is not registered twice
  // Not finishable without the session, nor by another principal.
  auto c2 = signin.BeginAddPasskey(*session);
  EXPECT_EQ(RuleOf(signin.FinishRegistration(c2->id, phone.Register(ChallengeOf(*c2)), kOrigins,
                                             "phone")
                       .status()),
            "webauthn.challenge");
  auto added = signin.FinishRegistration(c->id, phone.Register(ChallengeOf(*c)), kOrigins, "phone",
                                         &*session);
  ASSERT_TRUE(added.ok()) << added.status();
  EXPECT_EQ(added->principal.id, alice.id);
  EXPECT_EQ(signin.ListPasskeys(*session)->size(), 2u);
  phone.counter = 1;
  EXPECT_TRUE(SignIn(phone).ok());
}

TEST_F(SignInTest, TerminalFlowNeedsApprovalFromAPasskeySession) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  SoftAuthenticator key;
  auto reg = Register(code.code, key);
  ASSERT_TRUE(reg.ok());
  auto session = svc->Authenticate("Bearer " + reg->token.token, kScopeMe, "t");
  ASSERT_TRUE(session.ok());

  auto flow = signin.StartTerminalFlow("laptop");
  ASSERT_TRUE(flow.ok());
  EXPECT_EQ(flow->user_code.size(), 9u);  // XXXX-XXXX
  auto pending = signin.PollTerminalFlow(flow->device_code);
  EXPECT_EQ(RuleOf(pending.status()), "signin.pending");
  // A terminal's own token cannot approve another terminal.
  auto other = signin.StartTerminalFlow("other");
  ASSERT_TRUE(signin.DecideTerminalFlow(*session, flow->user_code, true).ok());
  auto tok = signin.PollTerminalFlow(flow->device_code);
  ASSERT_TRUE(tok.ok()) << tok.status();
  auto cli = svc->Authenticate("Bearer " + tok->token, kScopeMe, "t");
  ASSERT_TRUE(cli.ok());
  EXPECT_EQ(cli->auth_method, "device_flow");
  EXPECT_EQ(cli->client, "cli:laptop");
  EXPECT_LE(tok->expires_us - env_.NowWallMicros(), signin.options().terminal_token_ttl_us);
  EXPECT_EQ(RuleOf(signin.DecideTerminalFlow(*cli, other->user_code, true)),
            "signin.passkey_required");
  EXPECT_EQ(RuleOf(signin.IssueDeviceCode(*cli).status()), "signin.passkey_required");
  // Taken once.
  EXPECT_EQ(RuleOf(signin.PollTerminalFlow(flow->device_code).status()), "signin.code_expired");
  // Denied.
  ASSERT_TRUE(signin.DecideTerminalFlow(*session, other->user_code, false).ok());
  EXPECT_EQ(RuleOf(signin.PollTerminalFlow(other->device_code).status()), "signin.denied");
  // A contributor token never mints another token.
  EXPECT_EQ(RuleOf(svc->IssueToken(*cli, cli->id, {kScopeMe}, 0).status()),
            "token.contributor_signin");
  (void)alice;
}

TEST_F(SignInTest, DeviceCodeAddsOneDeviceToTheContributorWhoMadeIt) {
  IssuedCode code;
  Principal alice = EnrolNew("alice", &code);
  SoftAuthenticator key;
  auto reg = Register(code.code, key);
  ASSERT_TRUE(reg.ok());
  auto session = svc->Authenticate("Bearer " + reg->token.token, kScopeMe, "t");
  auto dc = signin.IssueDeviceCode(*session);
  ASSERT_TRUE(dc.ok()) << dc.status();
  vault_->enroll()->SetDeviceCodeCheck(
      [this](std::string_view c) { return signin.UseDeviceCode(c); });
  auto joined = vault_->enroll()->Enroll({"", "{\"device_code\":\"" + dc->code + "\"}"});
  ASSERT_EQ(joined.outcome, vault::EnrollOutcome::kEnrolled) << joined.message;
  EXPECT_EQ(joined.contributor_id, alice.contributor_id);
  auto again = vault_->enroll()->Enroll({"", "{\"device_code\":\"" + dc->code + "\"}"});
  EXPECT_EQ(again.outcome, vault::EnrollOutcome::kCodeRefused);
  EXPECT_NE(again.message.find("already used"), std::string::npos) << again.message;
  // A device token reads nothing, and the contributor sees the attempt.
  const uint64_t before = log->Size();
  auto dev = svc->Authenticate("Bearer " + joined.device_token, kScopeMe, "/v1/me/read");
  EXPECT_TRUE(absl::IsPermissionDenied(dev.status()));
  EXPECT_EQ(RuleOf(dev.status()), "device.not_a_reader");
  auto e = log->Entry(before);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->subject_contributor, alice.contributor_id);
  // Alice revokes the new device; it can no longer upload. Bob cannot revoke hers.
  IssuedCode bob_code;
  Principal bob = EnrolNew("bob", &bob_code);
  bob.auth_method = "passkey";
  EXPECT_EQ(RuleOf(svc->RevokeOwnDevice(bob, joined.device_id)), "devices.own_only");
  ASSERT_TRUE(vault::AuthenticateDevice(vault_->store(), "Bearer " + joined.device_token).ok());
  ASSERT_TRUE(svc->RevokeOwnDevice(*session, joined.device_id).ok());
  auto gone = vault::AuthenticateDevice(vault_->store(), "Bearer " + joined.device_token);
  EXPECT_TRUE(absl::IsUnauthenticated(gone.status()));
  EXPECT_NE(gone.status().message().find("revoked"), std::string::npos);
  // Her first device still uploads.
  EXPECT_TRUE(
      vault::AuthenticateDevice(vault_->store(), "Bearer " + device_token_["alice"]).ok());
}

}  // namespace
}  // namespace sealtrace::access
