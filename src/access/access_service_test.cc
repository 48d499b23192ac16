// In-process tests of the access service: the access matrix, the leak
// scenario, tokens, clock skew, fail-closed audit, crash ordering, tampering.
#include "segment/event_json.h"
#include "access/access_service.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <set>

#include "access/access_test_util.h"
#include "audit/verify.h"
#include "gtest/gtest.h"

namespace sealtrace::access {
namespace {

using testing::AccessFixture;
using testing::AllText;
using testing::Contributor;
using testing::kT0;

constexpr int64_t kFrom = kT0 - 3600'000'000LL;
constexpr int64_t kTo = kT0 + 3600'000'000LL;

TEST(AccessMatrix, EveryRoleEveryPath) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  Contributor bob = f.Enrol("bob");
  std::string seg = f.Upload(alice, 0, kT0 - 600'000'000LL);
  f.Upload(bob, 0, kT0 - 600'000'000LL);
  Grant g_human = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id});
  Grant g_service = f.MakeGrant(f.po1, f.po2, f.service.id, {alice.id});
  ASSERT_EQ(g_human.status, GrantStatus::kApproved);
  ASSERT_EQ(g_service.status, GrantStatus::kApproved);

  struct Who {
    std::string role;
    Principal p;
  };
  std::vector<Who> roles = {{"contributor", alice.p},   {"other_contributor", bob.p},
                            {"privacy_officer", f.po1}, {"second_officer", f.po2},
                            {"auditor", f.auditor},     {"operator", f.op},
                            {"service", f.service}};
  // Expected allowed set per path.
  struct Path {
    std::string name;
    std::function<absl::Status(const Principal&)> run;
    std::set<std::string> allowed;
    bool content = false;
  };
  auto st = [](auto r) { return r.status(); };
  std::vector<Path> paths = {
      {"read_own",
       [&](const Principal& p) { return st(f.svc->ReadOwn(p, kFrom, kTo)); },
       {"contributor", "other_contributor"},
       true},
      {"read_alice_with_grant",
       [&](const Principal& p) { return st(f.svc->Read(p, g_human.id, alice.id, kFrom, kTo, 0)); },
       {"privacy_officer"},
       true},
      {"read_alice_with_service_grant",
       [&](const Principal& p) {
         return st(f.svc->Read(p, g_service.id, alice.id, kFrom, kTo, 0));
       },
       {},
       true},
      {"export_open_segment",
       [&](const Principal& p) { return st(f.svc->OpenSegmentForGrant(p, g_service.id, seg)); },
       {"service"},
       true},
      {"export_open_with_human_grant",
       [&](const Principal& p) { return st(f.svc->OpenSegmentForGrant(p, g_human.id, seg)); },
       {},
       true},
      {"export_list",
       [&](const Principal& p) { return st(f.svc->ListSegmentsInScope(p, g_service.id)); },
       {"service"},
       false},
      {"dp_spend_budget",
       [&](const Principal& p) {
         return st(f.svc->SpendPrivacyBudget(p, g_service.id, alice.id, "matrix-" + p.id, "1/10"));
       },
       {"service"},
       false},
      {"delete_own_range",
       [&](const Principal& p) { return st(f.svc->DeleteOwn(p, false, 0, 1)); },
       {"contributor", "other_contributor"}},
      {"audit_entries_all",
       [&](const Principal& p) { return st(f.svc->AuditEntries(p, "")); },
       {"privacy_officer", "second_officer", "auditor", "contributor", "other_contributor"}},
      {"audit_entries_of_alice",
       [&](const Principal& p) { return st(f.svc->AuditEntries(p, alice.id)); },
       {"privacy_officer", "second_officer", "auditor", "contributor"}},
      {"checkpoint",
       [&](const Principal& p) { return st(f.svc->Checkpoint(p, false)); },
       {"contributor", "other_contributor", "privacy_officer", "second_officer", "auditor",
        "operator", "service"}},
      {"audit_leaves",
       [&](const Principal& p) { return st(f.svc->AuditLeaves(p, 0, 1)); },
       {"privacy_officer", "second_officer", "auditor"}},
      {"request_grant",
       [&](const Principal& p) {
         GrantRequest r;
         r.purpose = "x";
         r.scope.contributors = {alice.id};
         r.scope.from_us = kFrom;
         r.scope.to_us = kTo;
         r.scope.channels = kChannelKeys;
         r.expires_us = kT0 + 86400'000'000LL;
         return st(f.svc->RequestGrant(p, r));
       },
       {"privacy_officer", "second_officer"}},
      {"list_grants",
       [&](const Principal& p) { return st(f.svc->ListGrants(p)); },
       {"privacy_officer", "second_officer"}},
      {"propose_state",
       [&](const Principal& p) { return st(f.svc->ProposeState(p, ProgrammeState::kActive, "")); },
       {"privacy_officer", "second_officer"}},
      {"list_devices", [&](const Principal& p) { return st(f.svc->ListDevices(p)); }, {"operator"}},
      {"set_retention",
       [&](const Principal& p) { return st(f.svc->SetRetentionDays(p, 0)); },
       {"operator"}},
      {"run_purge", [&](const Principal& p) { return st(f.svc->RunPurge(&p)); }, {"operator"}},
      {"set_title_policy",
       [&](const Principal& p) { return st(f.svc->SetTitlePolicy(p, "full")); },
       {"operator"}},
      {"list_principals",
       [&](const Principal& p) { return st(f.svc->ListPrincipals(p)); },
       {"operator"}},
      {"create_operator",
       [&](const Principal& p) {
         return st(f.svc->CreatePrincipal(p, Role::kOperator, "op2", {}, 0));
       },
       {"operator"}},
      {"issue_token_for_officer",
       [&](const Principal& p) { return st(f.svc->IssueToken(p, f.po2.id, {}, 0)); },
       {"second_officer"}},
      {"rotate_audit_key",
       [&](const Principal& p) { return f.svc->RotateAuditKey(p); },
       {"operator"}},
      {"rotate_master_key",
       [&](const Principal& p) { return f.svc->RotateMasterKey(p).status(); },
       {"operator"}},
  };
  int checked = 0;
  for (const auto& path : paths) {
    for (const auto& who : roles) {
      const uint64_t before = f.log->Size();
      absl::Status s = path.run(who.p);
      const bool want = path.allowed.count(who.role) > 0;
      EXPECT_EQ(s.ok(), want) << path.name << " as " << who.role << ": " << s;
      auto entries = f.EntriesSince(before);
      if (!s.ok()) {
        EXPECT_TRUE(absl::IsPermissionDenied(s)) << path.name << " as " << who.role << ": " << s;
        EXPECT_FALSE(RuleOf(s).empty()) << s;
        bool logged = false;
        for (const auto& e : entries) {
          if (e.kind == audit::AuditKind::kRefused && e.actor_id == who.p.id &&
              e.rule == RuleOf(s)) {
            logged = true;
          }
        }
        EXPECT_TRUE(logged) << "refusal not in the audit log: " << path.name << " as " << who.role;
      } else if (path.content) {
        bool logged = false;
        for (const auto& e : entries) {
          if ((e.kind == audit::AuditKind::kRead || e.kind == audit::AuditKind::kExport) &&
              e.actor_id == who.p.id && e.decision == audit::Decision::kAllow) {
            logged = true;
          }
        }
        EXPECT_TRUE(logged) << "allowed read without an audit leaf: " << path.name << " as "
                            << who.role;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, static_cast<int>(paths.size() * roles.size()));
}

TEST(AccessService, AllowedReadsReturnContentFilteredByChannelAndRange) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  Grant keys_only = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id}, kChannelKeys);
  auto r = f.svc->Read(f.po1, keys_only.id, alice.id, kFrom, kTo, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->segments.size(), 1u);
  for (const auto& e : r->segments[0].events) EXPECT_TRUE(e.has_key()) << sealtrace::EventToJson(e);
  EXPECT_EQ(r->segments[0].events.size(), 3u);
  EXPECT_NE(AllText(*r).find(alice.canary), std::string::npos);
  // Asking for a channel outside the grant is refused.
  auto focus = f.svc->Read(f.po1, keys_only.id, alice.id, kFrom, kTo, kChannelFocus);
  EXPECT_EQ(RuleOf(focus.status()), "grant.scope_channel");
  // A range within the grant but excluding the events yields no events.
  auto later = f.svc->Read(f.po1, keys_only.id, alice.id, kT0, kTo, 0);
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->segments.empty());
  // Own read gets everything.
  auto own = f.svc->ReadOwn(alice.p, kFrom, kTo);
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->segments[0].events.size(), 5u);
}

TEST(AccessLeak, NobodyObtainsOthersContent) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  Contributor bob = f.Enrol("bob");
  Contributor carol = f.Enrol("carol");
  for (auto* c : {&alice, &bob, &carol}) {
    for (uint64_t s = 0; s < 3; ++s) f.Upload(*c, s, kT0 - 900'000'000LL + s * 60'000'000LL);
  }
  std::vector<std::string> canaries = {alice.canary, carol.canary};  // bob is the attacker
  std::string leaked;
  int attempts = 0;
  const uint64_t start = f.log->Size();
  auto attempt = [&](absl::StatusOr<ReadResult> r) {
    ++attempts;
    if (r.ok()) leaked += AllText(*r);
    leaked += std::string(r.status().message());
    return r.status();
  };
  auto attempt_seg = [&](absl::StatusOr<OpenedSegment> r) {
    ++attempts;
    if (r.ok()) {
      for (auto& e : r->events) leaked += sealtrace::EventToJson(e);
    }
    leaked += std::string(r.status().message());
    return r.status();
  };

  // 1. An ordinary contributor (bob).
  Grant carol_grant = f.MakeGrant(f.po1, f.po2, f.po1.id, {carol.id});
  EXPECT_FALSE(attempt(f.svc->Read(bob.p, "", alice.id, kFrom, kTo, 0)).ok());
  EXPECT_FALSE(attempt(f.svc->Read(bob.p, carol_grant.id, carol.id, kFrom, kTo, 0)).ok());
  {
    Principal forged = bob.p;  // bob claims alice's contributor id in a request
    auto r = f.svc->AuditEntries(bob.p, alice.id);
    ++attempts;
    EXPECT_FALSE(r.ok());
    (void)forged;
  }
  auto bob_own = f.svc->ReadOwn(bob.p, kFrom, kTo);  // his own: fine, and only his
  ASSERT_TRUE(bob_own.ok());
  EXPECT_NE(AllText(*bob_own).find(bob.canary), std::string::npos);
  leaked += AllText(*bob_own);

  // 2. An operator with full database and file access.
  EXPECT_FALSE(attempt(f.svc->ReadOwn(f.op, kFrom, kTo)).ok());
  EXPECT_FALSE(attempt(f.svc->Read(f.op, carol_grant.id, carol.id, kFrom, kTo, 0)).ok());
  EXPECT_FALSE(
      attempt_seg(f.svc->OpenSegmentForGrant(f.op, carol_grant.id,
                                             f.svc->ListOwnSegments(carol.p)->at(0).segment_id))
          .ok());
  {  // operators cannot mint themselves an officer's or a service's credential
    auto t = f.svc->IssueToken(f.op, f.po1.id, {}, 0);
    ++attempts;
    EXPECT_EQ(RuleOf(t.status()), "token.issue_forbidden");
    auto fake = f.svc->CreatePrincipal(f.op, Role::kPrivacyOfficer, "fake officer", {}, 0);
    ASSERT_TRUE(fake.ok());
    auto p = f.svc->Authenticate("Bearer " + fake->token, "", "test");
    ++attempts;
    EXPECT_EQ(RuleOf(p.status()), "principal.disabled");
  }
  {  // the operator edits access.db: an approved grant naming the operator, and
     // one turning a pending grant into "approved" -- the seal catches both.
    Grant forged;
    forged.id = "g_forged";
    forged.requester_id = f.po1.id;
    forged.grantee_id = f.op.id;
    forged.grantee_role = Role::kOperator;
    forged.purpose = "curiosity";
    forged.scope.contributors = {alice.id};
    forged.scope.from_us = kFrom;
    forged.scope.to_us = kTo;
    forged.scope.channels = kAllChannels;
    forged.expires_us = kTo;
    forged.status = GrantStatus::kApproved;
    forged.approver_id = f.po2.id;
    forged.seal = "00";
    ASSERT_TRUE(f.store->CreateGrant(forged).ok());
    EXPECT_FALSE(attempt(f.svc->Read(f.op, forged.id, alice.id, kFrom, kTo, 0)).ok());
    GrantRequest req;
    req.purpose = "review";
    req.scope = forged.scope;
    req.expires_us = kT0 + 86400'000'000LL;
    auto pending = f.svc->RequestGrant(f.po1, req);
    ASSERT_TRUE(pending.ok());
    Grant edited = *pending;
    edited.status = GrantStatus::kApproved;
    edited.approver_id = f.po2.id;
    ASSERT_TRUE(f.store->UpdateGrantIf(edited, GrantStatus::kPending).ok());
    auto r = f.svc->Read(f.po1, edited.id, alice.id, kFrom, kTo, 0);
    EXPECT_EQ(RuleOf(r.status()), "grant.integrity");
    (void)attempt(std::move(r));
  }

  // 3. Misconfigured grants.
  {
    GrantRequest req;
    req.purpose = "everything";
    req.scope.contributors = {alice.id, bob.id, carol.id};
    req.scope.from_us = kFrom;
    req.scope.to_us = kTo;
    req.scope.channels = kAllChannels;
    req.expires_us = kT0 + 86400'000'000LL;
    auto g = f.svc->RequestGrant(f.po1, req);
    ASSERT_TRUE(g.ok());
    // (a) the requester approves their own grant
    auto self = f.svc->ApproveGrant(f.po1, g->id);
    ++attempts;
    EXPECT_EQ(RuleOf(self.status()), "grant.two_person");
    // (b) read without the second approval
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po1, g->id, alice.id, kFrom, kTo, 0))),
              "grant.not_approved");
    // (c) another officer tries to use it
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po2, g->id, alice.id, kFrom, kTo, 0))),
              "grant.not_grantee");
  }
  {  // (d) a grant whose scope does not cover the contributor
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po1, carol_grant.id, alice.id, kFrom, kTo, 0))),
              "grant.scope_contributor");
    // (e) nor the time range
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po1, carol_grant.id, carol.id, kFrom - 10, kTo, 0))),
              "grant.scope_time");
  }
  {  // (f) an expired grant (server clock moves past it)
    GrantRequest req;
    req.purpose = "short";
    req.scope.contributors = {alice.id};
    req.scope.from_us = kFrom;
    req.scope.to_us = kTo;
    req.scope.channels = kAllChannels;
    req.expires_us = f.env_.NowWallMicros() + 60'000'000LL;
    auto g = f.svc->RequestGrant(f.po1, req);
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(f.svc->ApproveGrant(f.po2, g->id).ok());
    f.env_.AdvanceMicros(61'000'000LL);
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po1, g->id, alice.id, kFrom, kTo, 0))), "grant.expired");
  }
  {  // (g) INCIDENT freezes even a valid grant
    Grant ok = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id});
    auto prop = f.svc->ProposeState(f.po1, ProgrammeState::kIncident, "leak suspected");
    ASSERT_TRUE(prop.ok());
    ASSERT_TRUE(f.svc->ConfirmState(f.po2, prop->id).ok());
    EXPECT_EQ(RuleOf(attempt(f.svc->Read(f.po1, ok.id, alice.id, kFrom, kTo, 0))),
              "incident.freeze");
    EXPECT_EQ(RuleOf(attempt(f.svc->ReadOwn(alice.p, kFrom, kTo))), "incident.freeze");
    EXPECT_TRUE(f.svc->AuditEntries(f.auditor, "").ok());  // auditors still read the log
  }

  // Not one plaintext byte of alice's or carol's content came out.
  for (const auto& c : canaries) {
    EXPECT_EQ(leaked.find(c), std::string::npos) << "leaked " << c;
  }
  // The operator's file access: no canary in plaintext in any file of the data dir.
  for (const auto* c : {&alice, &bob, &carol}) {
    auto hits = testing::FilesWith(f.dir_.path(), c->canary);
    EXPECT_TRUE(hits.empty()) << c->canary << " in " << (hits.empty() ? "" : hits[0]);
  }
  // Every attempt is in the log.
  int refusals = 0;
  for (const auto& e : f.EntriesSince(start)) {
    if (e.kind == audit::AuditKind::kRefused) ++refusals;
  }
  EXPECT_GE(refusals, attempts);
}

TEST(AccessTokens, ForgedExpiredRevokedWrongScope) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  const uint64_t before = f.log->Size();
  auto forged = "stp_" + Base64Url(RandomBytes(32));
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer " + forged, "", "r").status()), "token.unknown");
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer stp_short", "", "r").status()), "token.malformed");
  EXPECT_EQ(RuleOf(f.svc->Authenticate("", "", "r").status()), "token.missing");
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer " + alice.device_token, "", "r").status()),
            "device.not_a_reader");
  // wrong scope: a contributor token used for grants
  auto ws = f.svc->Authenticate("Bearer " + alice.token, kScopeGrants, "r");
  EXPECT_TRUE(absl::IsPermissionDenied(ws.status()));
  EXPECT_EQ(RuleOf(ws.status()), "token.scope");
  // replay after revoke
  auto t = f.svc->IssueToken(f.po1, f.po1.id, {kScopeAudit}, 0);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(f.svc->Authenticate("Bearer " + t->token, kScopeAudit, "r").ok());
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer " + t->token, kScopeRead, "r").status()),
            "token.scope");
  ASSERT_TRUE(f.svc->RevokeToken(f.po1, t->token_id).ok());
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer " + t->token, kScopeAudit, "r").status()),
            "token.revoked");
  // scopes beyond the role are refused at issue time
  EXPECT_TRUE(
      absl::IsInvalidArgument(f.svc->IssueToken(f.po1, f.po1.id, {kScopeAdmin}, 0).status()));
  // expiry by the server clock
  auto short_lived = f.svc->IssueToken(f.po1, f.po1.id, {}, 10'000'000LL);
  ASSERT_TRUE(short_lived.ok());
  ASSERT_TRUE(f.svc->Authenticate("Bearer " + short_lived->token, "", "r").ok());
  f.env_.AdvanceMicros(11'000'000LL);
  EXPECT_EQ(RuleOf(f.svc->Authenticate("Bearer " + short_lived->token, "", "r").status()),
            "token.expired");
  // Each refusal is a leaf.
  int refused = 0;
  for (const auto& e : f.EntriesSince(before)) {
    if (e.kind == audit::AuditKind::kRefused) ++refused;
  }
  EXPECT_EQ(refused, 8);
  // Tokens are stored hashed only.
  EXPECT_TRUE(testing::FilesWith(f.dir_.path(), alice.token).empty());
  EXPECT_TRUE(testing::FilesWith(f.dir_.path(), t->token).empty());
}

TEST(AccessClock, GrantNotYetValidThenValidThenExpired) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  GrantRequest req;
  req.purpose = "scheduled review";
  req.scope.contributors = {alice.id};
  req.scope.from_us = kFrom;
  req.scope.to_us = kTo;
  req.scope.channels = kChannelKeys;
  req.not_before_us = f.env_.NowWallMicros() + 3600'000'000LL;  // in an hour
  req.expires_us = req.not_before_us + 3600'000'000LL;
  auto g = f.svc->RequestGrant(f.po1, req);
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_TRUE(f.svc->ApproveGrant(f.po2, g->id).ok());
  EXPECT_EQ(RuleOf(f.svc->Read(f.po1, g->id, alice.id, kFrom, kTo, 0).status()),
            "grant.not_yet_valid");
  f.env_.AdvanceMicros(3601'000'000LL);
  auto r = f.svc->Read(f.po1, g->id, alice.id, kFrom, kTo, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(AllText(*r).find(alice.canary), std::string::npos);
  f.env_.AdvanceMicros(3600'000'000LL);
  EXPECT_EQ(RuleOf(f.svc->Read(f.po1, g->id, alice.id, kFrom, kTo, 0).status()), "grant.expired");
  // A grant longer than the maximum is refused at request time.
  req.not_before_us = 0;
  req.expires_us = f.env_.NowWallMicros() + 91LL * 86400'000'000LL;
  EXPECT_TRUE(absl::IsInvalidArgument(f.svc->RequestGrant(f.po1, req).status()));
}

TEST(AccessAudit, FailClosedWhenTheAuditLogCannotBeWritten) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id});
  const uint64_t size = f.log->Size();
  f.flaky->fail = true;
  auto r = f.svc->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  auto own = f.svc->ReadOwn(alice.p, kFrom, kTo);
  EXPECT_TRUE(absl::IsUnavailable(own.status())) << own.status();
  auto del = f.svc->DeleteOwn(alice.p, true, 0, 0);
  EXPECT_FALSE(del.ok());
  auto prop = f.svc->ProposeState(f.po1, ProgrammeState::kPaused, "");
  EXPECT_FALSE(prop.ok());
  EXPECT_EQ(f.log->Size(), size);
  f.flaky->fail = false;
  // The key was not destroyed by the refused deletion; reads work again.
  auto again = f.svc->ReadOwn(alice.p, kFrom, kTo);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(AllText(*again).find(alice.canary), std::string::npos);
}

TEST(AccessAudit, CrashAfterDurableAppendNeverReleasesAKeyWithoutItsEntry) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id});
  const uint64_t size = f.log->Size();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipefd[0]);
    f.flaky->crash_after_append = true;  // the process dies right after the durable append
    auto r = f.svc->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
    // Never reached: if it were, the plaintext would go to the parent.
    std::string text = r.ok() ? AllText(*r) : "";
    (void)!write(pipefd[1], text.data(), text.size());
    _exit(0);
  }
  close(pipefd[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  char buf[256];
  ssize_t n = read(pipefd[0], buf, sizeof(buf));
  close(pipefd[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 42);
  EXPECT_LE(n, 0) << "plaintext came out of a process that crashed mid-read";
  // After "restart": the read's entry is durable in the log (appended before the key).
  f.OpenService();
  ASSERT_EQ(f.log->Size(), size + 1);
  auto e = f.log->Entry(size);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, audit::AuditKind::kRead);
  EXPECT_EQ(e->actor_id, f.po1.id);
  EXPECT_EQ(e->extra.at("key_use"), "contributor_secret_key");
}

TEST(AccessAudit, TamperedRowsAreDetected) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  ASSERT_TRUE(f.svc->ReadOwn(alice.p, kFrom, kTo).ok());
  auto note = f.svc->Checkpoint(f.auditor, true);
  ASSERT_TRUE(note.ok()) << note.status();
  const std::string db = f.vault_->data_dir() + "/audit.db";
  auto keys = f.svc->VerifierKeys();
  if (!f.on_postgres()) {
    EXPECT_TRUE(audit::VerifyAuditLogFile(db, *note, keys, alice.id).ok);
  }
  f.svc.reset();
  f.log.reset();
  // Rewrite one leaf: hide that alice's data was read.
  if (f.on_postgres()) {
    const std::string dbname = f.pg_conninfo.substr(f.pg_conninfo.rfind('=') + 1);
    ASSERT_TRUE(::sealtrace::testing::PgCluster::Shared()
                    ->Exec("UPDATE audit_leaves SET data = convert_to(replace(convert_from(data, "
                           "'UTF8'), '\"read\"', '\"enrol\"'), 'UTF8')",
                           dbname)
                    .ok());
  } else {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(h, "UPDATE leaves SET data = replace(data, '\"read\"', '\"enrol\"')",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    EXPECT_GT(sqlite3_changes(h), 0);
    sqlite3_close(h);
    auto tampered = audit::VerifyAuditLogFile(db, *note, keys, alice.id);
    EXPECT_FALSE(tampered.ok);
  }
  auto reopened = audit::AuditLog::Open(f.OpenAuditStore(), f.signer.get());
  EXPECT_TRUE(absl::IsDataLoss(reopened.status())) << reopened.status();
}

// A segment of pointer events `step_us` apart whose x is a running index, so
// each event can be told apart; records (wall time, index) of each in `sent`.
std::string UploadSpread(AccessFixture& f, const Contributor& c, uint64_t seq, int64_t anchor,
                         int64_t step_us, int n, std::vector<std::pair<int64_t, int>>* sent) {
  SegmentBuilder::Params p;
  p.contributor_id = *Id16::FromHex(c.id);
  p.device_id = *Id16::FromHex(f.device_[c.id]);
  p.segment_id = vault::testing::RandomId();
  p.sequence = seq;
  p.wall_anchor_us = anchor;
  p.start_mono_us = 1000;
  p.recipient_public_key = f.pk_[c.id];
  SegmentBuilder b(p);
  for (int i = 0; i < n; ++i) {
    v1::Event e;
    e.set_t_us(static_cast<uint64_t>(i * step_us));
    const int index = static_cast<int>(sent->size());
    e.mutable_pointer()->set_x(index);
    b.Add(e);
    sent->push_back({anchor + i * step_us, index});
  }
  f.IngestSealed(c, b.Seal());
  return p.segment_id.Hex();
}

// A narrow range over a busy hour opens the hour's segments to find its own;
// the cap on what a read returns counts only the segments that meet the range.
TEST(AccessService, BusyHourNarrowReadIsNotRefusedForTheHoursSegments) {
  AccessFixture f;
  f.tweak_options = [](AccessOptions* o) {
    o->max_segments_per_read = 4;
    o->max_segments_opened_per_read = 30;
  };
  f.OpenService();
  Contributor alice = f.Enrol("alice");
  const int64_t H = FloorToHourUs(kT0), min = 60'000'000;
  std::vector<std::pair<int64_t, int>> sent;
  for (int i = 0; i < 20; ++i) UploadSpread(f, alice, i, H + i * min, 10'000'000, 3, &sent);
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id}, kAllChannels, H, H + 3600 * 1000000LL);
  // Three minutes: three segments, though the hour holds twenty (> 4).
  auto r = f.svc->Read(f.po1, g.id, alice.id, H + 5 * min, H + 8 * min, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->segments.size(), 3u);
  auto own = f.svc->ReadOwn(alice.p, H + 5 * min, H + 8 * min);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_EQ(own->segments.size(), 3u);
  // Ten minutes meet ten segments: more than a read returns.
  auto wide = f.svc->Read(f.po1, g.id, alice.id, H + 5 * min, H + 15 * min, 0);
  EXPECT_TRUE(absl::IsResourceExhausted(wide.status())) << wide.status();
  EXPECT_NE(wide.status().message().find("5 segments or more in range"), std::string_view::npos)
      << wide.status();
  // More candidates in the range's hours than a read opens: refused before opening.
  for (int i = 20; i < 35; ++i) UploadSpread(f, alice, i, H + i * min, 10'000'000, 3, &sent);
  auto busy = f.svc->ReadOwn(alice.p, H + 5 * min, H + 8 * min);
  EXPECT_TRUE(absl::IsResourceExhausted(busy.status())) << busy.status();
  EXPECT_NE(busy.status().message().find("35 segments in the range's hours"), std::string_view::npos)
      << busy.status();
}

// The index knows whole hours only: reads, grant windows and deletions
// narrower than an hour still act on exactly the events inside them.
TEST(AccessService, SubHourWindowsAreExactThoughTheIndexKnowsOnlyHours) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  const int64_t H = FloorToHourUs(kT0), min = 60'000'000;
  std::vector<std::pair<int64_t, int>> sent;
  const std::string a = UploadSpread(f, alice, 0, H + 2 * min, 30'000'000, 13, &sent);   // +2..+8
  const std::string b = UploadSpread(f, alice, 1, H + 9 * min, 20'000'000, 46, &sent);   // +9..+24
  const std::string c = UploadSpread(f, alice, 2, H + 25 * min, 45'000'000, 67, &sent);  // +25..+74.5
  const std::string d = UploadSpread(f, alice, 3, H + 50 * min, 10'000'000, 31, &sent);  // +50..+55
  // All four share the hour H in the index.
  auto refs = f.svc->ListOwnSegments(alice.p);
  ASSERT_TRUE(refs.ok());
  ASSERT_EQ(refs->size(), 4u);
  for (const auto& r : *refs) EXPECT_EQ(r.wall_start_us, H);

  const int64_t from = H + 12 * min + 5'000'000, to = H + 27 * min;
  std::set<int> want;
  for (const auto& [wall, index] : sent) {
    if (wall >= from && wall < to) want.insert(index);
  }
  ASSERT_GT(want.size(), 10u);
  auto got_of = [](const ReadResult& r, std::set<std::string>* segs) {
    std::set<int> got;
    for (const auto& s : r.segments) {
      segs->insert(s.segment_id);
      for (const auto& e : s.events) {
        EXPECT_TRUE(got.insert(static_cast<int>(e.pointer().x())).second) << "duplicate event";
      }
    }
    return got;
  };
  // A grant for exactly that window (15 minutes), and a read of all of it.
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id}, kAllChannels, from, to);
  auto r = f.svc->Read(f.po1, g.id, alice.id, from, to, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  std::set<std::string> segs;
  EXPECT_EQ(got_of(*r, &segs), want);
  EXPECT_EQ(segs, (std::set<std::string>{b, c}));  // a and d opened, but outside: not returned
  // A range outside the grant's is refused even within the same hour.
  EXPECT_EQ(RuleOf(f.svc->Read(f.po1, g.id, alice.id, H, to, 0).status()), "grant.scope_time");
  // The contributor's own read of the same window: the same events.
  auto own = f.svc->ReadOwn(alice.p, from, to);
  ASSERT_TRUE(own.ok()) << own.status();
  segs.clear();
  EXPECT_EQ(got_of(*own, &segs), want);
  // By id: whole segments, with the exact times from the sealed info record.
  auto by_id = f.svc->ReadOwnSegments(alice.p, {d, "not-a-segment"});
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  ASSERT_EQ(by_id->segments.size(), 1u);
  EXPECT_EQ(by_id->segments[0].events.size(), 31u);
  EXPECT_EQ(by_id->segments[0].header.wall_anchor_us, H + 50 * min);
  EXPECT_EQ(by_id->segments[0].header.duration_us, 300'000'000u);
  EXPECT_EQ(by_id->segments[0].header.event_count, 31u);

  // Deleting [+50 min, +51 min) takes c and d (their spans overlap it), not a or b.
  auto n = f.svc->CountOwnInRange(alice.p, H + 50 * min, H + 51 * min);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2u);
  auto rep = f.svc->DeleteOwn(alice.p, false, H + 50 * min, H + 51 * min);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->segments_deleted, 2);
  refs = f.svc->ListOwnSegments(alice.p);
  ASSERT_TRUE(refs.ok());
  std::set<std::string> left;
  for (const auto& x : *refs) left.insert(x.segment_id);
  EXPECT_EQ(left, (std::set<std::string>{a, b}));
  // A whole-hour range deletes without opening anything.
  rep = f.svc->DeleteOwn(alice.p, false, H, H + 60 * min);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->segments_deleted, 2);
}

TEST(AccessDeletion, CryptoShredAndPurge) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  f.Upload(alice, 1, kT0 - 500'000'000LL);
  Grant g = f.MakeGrant(f.po1, f.po2, f.po1.id, {alice.id});
  auto rep = f.svc->DeleteOwn(alice.p, true, 0, 0);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_TRUE(rep->key_destroyed);
  EXPECT_EQ(rep->segments_deleted, 2);
  EXPECT_EQ(rep->blobs_deleted, 2);
  auto segs = f.svc->ListOwnSegments(alice.p);
  ASSERT_TRUE(segs.ok());
  EXPECT_TRUE(segs->empty());
  // Later reads find nothing; uploads sealed to the old key are refused by ingest.
  auto r = f.svc->Read(f.po1, g.id, alice.id, kFrom, kTo, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->segments.empty());
  auto entries = f.svc->AuditEntries(alice.p, "");
  ASSERT_TRUE(entries.ok());
  int deletions = 0;
  for (const auto& e : *entries) deletions += e.entry.kind == audit::AuditKind::kDeletion;
  EXPECT_EQ(deletions, 2);  // begin + done
  EXPECT_TRUE(testing::FilesWith(f.dir_.path(), alice.canary).empty());
}

TEST(AccessRetention, PurgesOldSegmentsAndLogsIt) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 40LL * 86400'000'000LL);  // 40 days old
  f.Upload(alice, 1, kT0 - 600'000'000LL);
  // Shortening retention (from keep-for-ever to 30 days) is only a proposal
  // until a privacy officer confirms it; meanwhile nothing is purged.
  auto ch = f.svc->SetRetentionDays(f.op, 30);
  ASSERT_TRUE(ch.ok()) << ch.status();
  EXPECT_FALSE(ch->applied);
  EXPECT_EQ(*f.svc->RetentionDays(), 0);
  EXPECT_EQ(f.svc->RunPurge(nullptr)->segments_deleted, 0);
  EXPECT_EQ(RuleOf(f.svc->ConfirmRetention(f.op, ch->proposal_id).status()),
            "retention.officer_confirms");
  EXPECT_TRUE(absl::IsFailedPrecondition(f.svc->ConfirmRetention(f.po1, "rp_nope").status()));
  auto confirmed = f.svc->ConfirmRetention(f.po1, ch->proposal_id);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(*confirmed, 30);
  EXPECT_FALSE(f.svc->PendingRetention()->has_value());
  // Keeping longer needs no second person.
  auto longer = f.svc->SetRetentionDays(f.op, 60);
  ASSERT_TRUE(longer.ok() && longer->applied);
  ASSERT_TRUE(f.svc->SetRetentionDays(f.op, 30).ok());
  ASSERT_TRUE(f.svc->ConfirmRetention(f.po2, f.svc->PendingRetention()->value().proposal_id).ok());
  auto rep = f.svc->RunPurge(nullptr);
  ASSERT_TRUE(rep.ok()) << rep.status();
  EXPECT_EQ(rep->segments_deleted, 1);
  auto segs = f.svc->ListOwnSegments(alice.p);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_EQ(segs->at(0).sequence, 1u);
  auto entries = f.svc->AuditEntries(alice.p, "");
  ASSERT_TRUE(entries.ok());
  bool logged = false;
  for (const auto& e : *entries) logged |= e.entry.rule == "retention.purge";
  EXPECT_TRUE(logged);
}

TEST(AccessTitlePolicy, StricterAppliesLooserNeedsAnOfficer) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  auto device_policy = [&] {
    auto s = f.vault_->GetDeviceState("Bearer " + alice.device_token);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? s->title_policy : std::string();
  };
  EXPECT_EQ(*f.svc->CurrentTitlePolicy(), "full");
  EXPECT_EQ(device_policy(), "full");
  EXPECT_TRUE(absl::IsInvalidArgument(f.svc->SetTitlePolicy(f.op, "none").status()));
  // Stricter: in force at once, served to devices.
  auto strict = f.svc->SetTitlePolicy(f.op, "app-only");
  ASSERT_TRUE(strict.ok()) << strict.status();
  EXPECT_TRUE(strict->applied);
  EXPECT_EQ(device_policy(), "app-only");
  // Looser: only a proposal until a second person, a privacy officer, confirms.
  auto looser = f.svc->SetTitlePolicy(f.op, "app-and-domain");
  ASSERT_TRUE(looser.ok()) << looser.status();
  EXPECT_FALSE(looser->applied);
  EXPECT_EQ(looser->proposal_id.rfind("tp_", 0), 0u);
  EXPECT_EQ(device_policy(), "app-only");
  ASSERT_TRUE(f.svc->PendingTitlePolicy()->has_value());
  EXPECT_EQ(RuleOf(f.svc->ConfirmTitlePolicy(f.op, looser->proposal_id).status()),
            "title_policy.officer_confirms");
  EXPECT_TRUE(absl::IsFailedPrecondition(f.svc->ConfirmTitlePolicy(f.po1, "tp_nope").status()));
  auto confirmed = f.svc->ConfirmTitlePolicy(f.po1, looser->proposal_id);
  ASSERT_TRUE(confirmed.ok()) << confirmed.status();
  EXPECT_EQ(*confirmed, "app-and-domain");
  EXPECT_EQ(device_policy(), "app-and-domain");
  EXPECT_FALSE(f.svc->PendingTitlePolicy()->has_value());
  // A privacy officer cannot confirm a loosening they proposed... and cannot
  // propose one at all (operators set the policy).
  EXPECT_EQ(RuleOf(f.svc->SetTitlePolicy(f.po1, "full").status()), "deny.default");
  // A stricter setting made while a loosening waits cancels the proposal.
  ASSERT_FALSE(f.svc->SetTitlePolicy(f.op, "full")->applied);
  ASSERT_TRUE(f.svc->SetTitlePolicy(f.op, "app-only")->applied);
  EXPECT_FALSE(f.svc->PendingTitlePolicy()->has_value());
  // Every change is in the audit log.
  auto entries = f.svc->AuditEntries(f.po1, "");
  ASSERT_TRUE(entries.ok()) << entries.status();
  int changes = 0;
  for (const auto& e : *entries) {
    changes += e.entry.kind == audit::AuditKind::kPolicyChange &&
               e.entry.object_id == "title_policy" && e.entry.decision == audit::Decision::kAllow;
  }
  EXPECT_EQ(changes, 5);  // app-only, propose, confirm, propose full, app-only
}

TEST(AccessExport, PrivacyBudgetLedgerInTheVault) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  Contributor bob = f.Enrol("bob");
  Grant g = f.MakeGrant(f.po1, f.po2, f.service.id, {alice.id});
  const uint64_t size = f.log->Size();
  auto c1 = f.svc->SpendPrivacyBudget(f.service, g.id, alice.id, "ds-1", "3/2");
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_EQ(c1->spent, (exporter::Rational{3, 2}));
  EXPECT_EQ(c1->budget, (exporter::Rational{4, 1}));
  // The charge is audited first, with the grant, epsilon and release.
  auto entries = f.EntriesSince(size);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].object_id, "dp_spend");
  EXPECT_EQ(entries[0].grant_id, g.id);
  EXPECT_EQ(entries[0].extra.at("epsilon"), "3/2");
  EXPECT_EQ(entries[0].extra.at("release"), "ds-1");
  // A resumed export re-charging the same release costs nothing more.
  EXPECT_EQ(f.svc->SpendPrivacyBudget(f.service, g.id, alice.id, "ds-1", "3/2")->spent,
            (exporter::Rational{3, 2}));
  // Up to the budget exactly, then refused (and audited as a refusal).
  EXPECT_EQ(f.svc->SpendPrivacyBudget(f.service, g.id, alice.id, "ds-2", "5/2")->spent,
            (exporter::Rational{4, 1}));
  auto over = f.svc->SpendPrivacyBudget(f.service, g.id, alice.id, "ds-3", "1/1000");
  EXPECT_TRUE(absl::IsResourceExhausted(over.status())) << over.status();
  EXPECT_EQ(RuleOf(over.status()), "dp.budget_exhausted");
  EXPECT_EQ(f.EntriesSince(size).back().rule, "dp.budget_exhausted");
  EXPECT_EQ(*f.ledger->Spent(alice.id), (exporter::Rational{4, 1}));
  // Outside the grant's scope, bad epsilons, and a fail-closed audit log.
  EXPECT_FALSE(f.svc->SpendPrivacyBudget(f.service, g.id, bob.id, "ds-1", "1").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(
      f.svc->SpendPrivacyBudget(f.service, g.id, bob.id, "ds-1", "0").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      f.svc->SpendPrivacyBudget(f.service, g.id, bob.id, "ds-1", "-1").status()));
  Grant gb = f.MakeGrant(f.po1, f.po2, f.service.id, {bob.id});
  f.flaky->fail = true;
  auto closed = f.svc->SpendPrivacyBudget(f.service, gb.id, bob.id, "ds-1", "1");
  f.flaky->fail = false;
  EXPECT_TRUE(absl::IsUnavailable(closed.status())) << closed.status();
  EXPECT_TRUE(f.ledger->Spent(bob.id)->IsZero()) << "charged without an audit entry";
}

TEST(AccessState, TwoOfficersChangeProgrammeState) {
  AccessFixture f;
  auto p = f.svc->ProposeState(f.po1, ProgrammeState::kPaused, "maintenance");
  ASSERT_TRUE(p.ok());
  // Pending proposals are listed for officers (from the store, so any vault
  // process sees them), never for operators or contributors.
  auto pending = f.svc->ListPendingProposals(f.po2);
  ASSERT_TRUE(pending.ok()) << pending.status();
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].id, p->id);
  EXPECT_EQ((*pending)[0].reason, "maintenance");
  EXPECT_EQ((*pending)[0].proposer_id, f.po1.id);
  EXPECT_FALSE(f.svc->ListPendingProposals(f.op).ok());
  EXPECT_EQ(RuleOf(f.svc->ConfirmState(f.po1, p->id).status()), "state.two_person");
  EXPECT_EQ(RuleOf(f.svc->ConfirmState(f.op, p->id).status()), "deny.default");
  EXPECT_EQ(f.svc->CurrentState(), ProgrammeState::kActive);
  auto s = f.svc->ConfirmState(f.po2, p->id);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(f.svc->CurrentState(), ProgrammeState::kPaused);
  EXPECT_FALSE(f.svc->ConfirmState(f.po2, p->id).ok());  // used once
  EXPECT_TRUE(f.svc->ListPendingProposals(f.po1)->empty());
  // The device-facing state follows.
  auto dev = f.vault_->store()->GetSetting(vault::kSettingProgrammeState);
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(**dev, "PAUSED");
  // Proposals expire.
  auto q = f.svc->ProposeState(f.po1, ProgrammeState::kActive, "");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(f.svc->ListPendingProposals(f.po1)->size(), 1u);
  f.env_.AdvanceMicros(3601'000'000LL);
  EXPECT_TRUE(f.svc->ListPendingProposals(f.po1)->empty());  // expired ones are not listed
  EXPECT_TRUE(absl::IsFailedPrecondition(f.svc->ConfirmState(f.po2, q->id).status()));
}

TEST(AccessAudit, AuditKeyRotationKeepsOldCheckpointsVerifiable) {
  AccessFixture f;
  auto old_note = f.svc->Checkpoint(f.auditor, true);
  ASSERT_TRUE(old_note.ok());
  ASSERT_TRUE(f.svc->RotateAuditKey(f.op).ok());
  auto keys = f.svc->VerifierKeys();
  EXPECT_EQ(keys.size(), 2u);
  auto new_note = f.svc->Checkpoint(f.auditor, false);
  ASSERT_TRUE(new_note.ok());
  EXPECT_NE(*old_note, *new_note);
  if (!f.on_postgres()) {  // `sealtrace audit verify` reads the SQLite file
    const std::string db = f.vault_->data_dir() + "/audit.db";
    EXPECT_TRUE(audit::VerifyAuditLogFile(db, *old_note, keys).ok);
    EXPECT_TRUE(audit::VerifyAuditLogFile(db, *new_note, keys).ok);
  }
}

TEST(AccessAudit, MasterKeyRotationIsAuditedFailsClosedAndKeepsDataReadable) {
  AccessFixture f;
  Contributor alice = f.Enrol("alice");
  f.Upload(alice, 0, kT0 - 600'000'000LL);
  vault::KeyService* keys = f.vault_->keys();
  // No audit leaf, no rotation.
  f.flaky->fail = true;
  auto refused = f.svc->RotateMasterKey(f.op);
  f.flaky->fail = false;
  EXPECT_TRUE(absl::IsUnavailable(refused.status())) << refused.status();
  EXPECT_EQ(keys->master_key_versions(), (std::vector<uint32_t>{1}));

  const uint64_t before = f.log->Size();
  auto r = f.svc->RotateMasterKey(f.op);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->new_version);
  EXPECT_EQ(r->master_key_version, 2u);
  EXPECT_GE(r->rewrapped, 1);
  std::vector<std::string> phases;
  for (const auto& e : f.EntriesSince(before)) {
    if (e.kind == audit::AuditKind::kKeyRotation && e.object_id == "master_key" &&
        e.actor_id == f.op.id && e.decision == audit::Decision::kAllow) {
      phases.push_back(e.extra.at("phase"));
    }
  }
  EXPECT_EQ(phases, (std::vector<std::string>{"start", "done"}));
  // The contributor's data is still readable through the audited path, and the
  // old master key can now be retired.
  auto own = f.svc->ReadOwn(alice.p, kFrom, kTo);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_NE(AllText(*own).find(alice.canary), std::string::npos);
  // Retiring is for operators, audited, and refused for the current version.
  EXPECT_FALSE(f.svc->RetireMasterKey(f.po1, 1).ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(f.svc->RetireMasterKey(f.op, 2)));
  const uint64_t before_retire = f.log->Size();
  ASSERT_TRUE(f.svc->RetireMasterKey(f.op, 1).ok());
  EXPECT_EQ(keys->master_key_versions(), (std::vector<uint32_t>{2}));
  auto retire_entries = f.EntriesSince(before_retire);
  ASSERT_EQ(retire_entries.size(), 1u);
  EXPECT_EQ(retire_entries[0].extra.at("phase"), "retire");
  EXPECT_EQ(retire_entries[0].extra.at("version"), "1");
  own = f.svc->ReadOwn(alice.p, kFrom, kTo);
  ASSERT_TRUE(own.ok()) << own.status();
  EXPECT_NE(AllText(*own).find(alice.canary), std::string::npos);
}

}  // namespace
}  // namespace sealtrace::access
