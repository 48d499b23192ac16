#include "access/policy.h"

#include "gtest/gtest.h"

namespace sealtrace::access {
namespace {

constexpr int64_t kNow = 1'000'000'000;
const std::string kAlice(32, 'a');
const std::string kBob(32, 'b');

Principal P(const std::string& id, Role r, const std::string& contributor = "") {
  Principal p;
  p.id = id;
  p.role = r;
  p.contributor_id = contributor;
  return p;
}

Grant ApprovedGrant() {
  Grant g;
  g.id = "g1";
  g.requester_id = "po1";
  g.grantee_id = "po1";
  g.purpose = "incident";
  g.scope.contributors = {kAlice};
  g.scope.from_us = 0;
  g.scope.to_us = 1000;
  g.scope.channels = kChannelKeys | kChannelPointer;
  g.not_before_us = 0;
  g.expires_us = kNow + 10;
  g.status = GrantStatus::kApproved;
  g.approver_id = "po2";
  g.approver_role = Role::kPrivacyOfficer;
  return g;
}

Target ReadTarget() {
  Target t;
  t.contributor_id = kAlice;
  t.grant_id = "g1";
  t.from_us = 0;
  t.to_us = 1000;
  return t;
}

Decision D(const Principal& p, Action a, const Target& t, std::vector<Grant> g = {},
           ProgrammeState s = ProgrammeState::kActive, int64_t now = kNow) {
  return Evaluate(p, a, t, g, s, now);
}

TEST(Policy, DefaultDenyAndExplained) {
  Decision d = D(P("x", Role::kAuditor), Action::kSetRetention, {});
  EXPECT_FALSE(d.allow);
  EXPECT_FALSE(d.rule.empty());
  EXPECT_FALSE(d.explanation.empty());
  EXPECT_FALSE(D(Principal{}, Action::kReadOwn, {}).allow);
  Principal disabled = P("po1", Role::kPrivacyOfficer);
  disabled.disabled = true;
  EXPECT_EQ(D(disabled, Action::kRead, ReadTarget(), {ApprovedGrant()}).rule, "deny.disabled");
}

TEST(Policy, ContributorOwnDataOnly) {
  Principal a = P("pa", Role::kContributor, kAlice);
  Target own;
  own.contributor_id = kAlice;
  EXPECT_TRUE(D(a, Action::kReadOwn, own).allow);
  EXPECT_TRUE(D(a, Action::kDeleteOwn, own).allow);
  Target other;
  other.contributor_id = kBob;
  EXPECT_EQ(D(a, Action::kReadOwn, other).rule, "contributor.not_own");
  EXPECT_EQ(D(a, Action::kRead, ReadTarget(), {ApprovedGrant()}).rule, "contributor.not_own");
}

TEST(Policy, GrantRules) {
  Principal po1 = P("po1", Role::kPrivacyOfficer);
  EXPECT_TRUE(D(po1, Action::kRead, ReadTarget(), {ApprovedGrant()}).allow);
  Target no_grant = ReadTarget();
  no_grant.grant_id = "";
  EXPECT_EQ(D(po1, Action::kRead, no_grant, {ApprovedGrant()}).rule, "grant.missing");
  Grant g = ApprovedGrant();
  g.approver_id = "po1";
  EXPECT_EQ(D(po1, Action::kRead, ReadTarget(), {g}).rule, "grant.self_approved");
  g = ApprovedGrant();
  g.status = GrantStatus::kPending;
  EXPECT_EQ(D(po1, Action::kRead, ReadTarget(), {g}).rule, "grant.not_approved");
  g = ApprovedGrant();
  g.approver_role = Role::kOperator;
  EXPECT_EQ(D(po1, Action::kRead, ReadTarget(), {g}).rule, "grant.not_approved");
  EXPECT_EQ(
      D(po1, Action::kRead, ReadTarget(), {ApprovedGrant()}, ProgrammeState::kActive, kNow + 10)
          .rule,
      "grant.expired");
  g = ApprovedGrant();
  g.not_before_us = kNow + 1;
  EXPECT_EQ(D(po1, Action::kRead, ReadTarget(), {g}).rule, "grant.not_yet_valid");
  Target bob = ReadTarget();
  bob.contributor_id = kBob;
  EXPECT_EQ(D(po1, Action::kRead, bob, {ApprovedGrant()}).rule, "grant.scope_contributor");
  Target wide = ReadTarget();
  wide.to_us = 1001;
  EXPECT_EQ(D(po1, Action::kRead, wide, {ApprovedGrant()}).rule, "grant.scope_time");
  Target frames = ReadTarget();
  frames.channels = kChannelFrames;
  EXPECT_EQ(D(po1, Action::kRead, frames, {ApprovedGrant()}).rule, "grant.scope_channel");
  EXPECT_EQ(D(P("po2", Role::kPrivacyOfficer), Action::kRead, ReadTarget(), {ApprovedGrant()}).rule,
            "grant.not_grantee");  // the approver is not the grantee
  EXPECT_EQ(D(P("po3", Role::kPrivacyOfficer), Action::kRead, ReadTarget(), {ApprovedGrant()}).rule,
            "grant.not_grantee");
}

TEST(Policy, OperatorsAndAuditorsNeverReadContent) {
  Grant g = ApprovedGrant();
  g.grantee_id = "op";
  for (Action a : {Action::kRead, Action::kReadOwn, Action::kExportRead}) {
    EXPECT_EQ(D(P("op", Role::kOperator), a, ReadTarget(), {g}).rule, "operator.no_content");
    EXPECT_FALSE(D(P("op", Role::kAuditor), a, ReadTarget(), {g}).allow);
  }
  EXPECT_TRUE(D(P("op", Role::kOperator), Action::kListDevices, {}).allow);
  EXPECT_TRUE(D(P("au", Role::kAuditor), Action::kReadAuditLog, {}).allow);
}

TEST(Policy, ServiceOnlyExportsWithinGrant) {
  Grant g = ApprovedGrant();
  g.grantee_id = "svc";
  g.grantee_role = Role::kService;
  Principal s = P("svc", Role::kService);
  Target t = ReadTarget();
  t.from_us = 500;
  t.to_us = 2000;  // a segment overlapping the scope
  EXPECT_TRUE(D(s, Action::kExportRead, t, {g}).allow);
  EXPECT_EQ(D(s, Action::kRead, ReadTarget(), {g}).rule, "service.export_only");
  t.from_us = 1000;
  EXPECT_EQ(D(s, Action::kExportRead, t, {g}).rule, "grant.scope_time");
  EXPECT_EQ(
      D(P("po1", Role::kPrivacyOfficer), Action::kExportRead, ReadTarget(), {ApprovedGrant()}).rule,
      "export.service_only");
}

TEST(Policy, IncidentFreezesReadsExceptAuditors) {
  auto inc = ProgrammeState::kIncident;
  EXPECT_EQ(
      D(P("po1", Role::kPrivacyOfficer), Action::kRead, ReadTarget(), {ApprovedGrant()}, inc).rule,
      "incident.freeze");
  Target own;
  own.contributor_id = kAlice;
  EXPECT_EQ(D(P("pa", Role::kContributor, kAlice), Action::kReadOwn, own, {}, inc).rule,
            "incident.freeze");
  EXPECT_TRUE(D(P("au", Role::kAuditor), Action::kReadAuditLog, {}, {}, inc).allow);
  EXPECT_FALSE(D(P("po1", Role::kPrivacyOfficer), Action::kReadAuditLog, {}, {}, inc).allow);
  // Programme state can still be changed in an incident.
  EXPECT_TRUE(D(P("po1", Role::kPrivacyOfficer), Action::kProposeState, {}, {}, inc).allow);
}

TEST(Policy, TwoPersonRules) {
  Target t;
  t.grant_requester_id = "po1";
  t.grant_grantee_id = "svc";
  EXPECT_EQ(D(P("po1", Role::kPrivacyOfficer), Action::kDecideGrant, t).rule, "grant.two_person");
  EXPECT_TRUE(D(P("po2", Role::kPrivacyOfficer), Action::kDecideGrant, t).allow);
  t.grant_grantee_id = "po2";
  EXPECT_EQ(D(P("po2", Role::kPrivacyOfficer), Action::kDecideGrant, t).rule, "grant.two_person");
  Target s;
  s.proposer_id = "po1";
  EXPECT_EQ(D(P("po1", Role::kPrivacyOfficer), Action::kConfirmState, s).rule, "state.two_person");
  EXPECT_TRUE(D(P("po2", Role::kPrivacyOfficer), Action::kConfirmState, s).allow);
  Target tok;
  tok.principal_id = "po1";
  tok.principal_role = Role::kPrivacyOfficer;
  EXPECT_EQ(D(P("op", Role::kOperator), Action::kIssueToken, tok).rule, "token.issue_forbidden");
  EXPECT_TRUE(D(P("po1", Role::kPrivacyOfficer), Action::kIssueToken, tok).allow);
}

TEST(Policy, Channels) {
  EXPECT_EQ(ParseChannels("keys,frames"), kChannelKeys | kChannelFrames);
  EXPECT_FALSE(ParseChannels("").has_value());
  EXPECT_FALSE(ParseChannels("keys,screen").has_value());
  EXPECT_EQ(ChannelsToString(kAllChannels), "keys,pointer,focus,frames");
}

}  // namespace
}  // namespace sealtrace::access
