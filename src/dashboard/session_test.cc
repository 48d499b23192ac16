#include "dashboard/session.h"

#include <gtest/gtest.h>

#include <set>

#include "common/env.h"
#include "common/env_fault.h"

namespace sealtrace::dashboard {
namespace {

constexpr int64_t kMinute = 60LL * 1000000;

Session Alice() {
  Session s;
  s.principal_id = "p_alice";
  s.name = "alice";
  s.api_token = "stp_x";
  return s;
}

TEST(SessionStoreTest, CreatesRandomIdsAndFindsThem) {
  FaultInjectionEnv env(Env::Default());
  SessionStore store(&env, {});
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.insert(store.Create(Alice()));
  EXPECT_EQ(ids.size(), 50u);
  const std::string id = *ids.begin();
  EXPECT_EQ(id.size(), 43u);  // base64url of 32 bytes
  Session out;
  ASSERT_EQ(store.Get(id, &out), SessionLookup::kOk);
  EXPECT_EQ(out.principal_id, "p_alice");
  EXPECT_EQ(out.csrf_token.size(), 43u);
  EXPECT_NE(out.csrf_token, id);
  // A different, well-formed id is unknown.
  std::string other = id;
  other[0] = other[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(store.Get(other, &out), SessionLookup::kMissing);
  EXPECT_EQ(store.Get("short", &out), SessionLookup::kMissing);
}

TEST(SessionStoreTest, IdleExpiryAndRefresh) {
  FaultInjectionEnv env(Env::Default());
  SessionOptions o;
  o.idle_us = 15 * kMinute;
  o.absolute_us = 8 * 60 * kMinute;
  SessionStore store(&env, o);
  const std::string id = store.Create(Alice());
  Session out;
  env.AdvanceMicros(14 * kMinute);
  ASSERT_EQ(store.Get(id, &out), SessionLookup::kOk);  // refreshes the idle timer
  env.AdvanceMicros(14 * kMinute);
  ASSERT_EQ(store.Get(id, &out), SessionLookup::kOk);
  env.AdvanceMicros(15 * kMinute);
  EXPECT_EQ(store.Get(id, &out), SessionLookup::kIdleExpired);
  EXPECT_EQ(store.Get(id, &out), SessionLookup::kMissing);  // removed
}

TEST(SessionStoreTest, AbsoluteExpiryDespiteActivity) {
  FaultInjectionEnv env(Env::Default());
  SessionOptions o;
  o.idle_us = 15 * kMinute;
  o.absolute_us = 60 * kMinute;
  SessionStore store(&env, o);
  const std::string id = store.Create(Alice());
  Session out;
  for (int i = 0; i < 5; ++i) {
    env.AdvanceMicros(10 * kMinute);
    ASSERT_EQ(store.Get(id, &out), SessionLookup::kOk) << i;
  }
  env.AdvanceMicros(10 * kMinute);
  EXPECT_EQ(store.Get(id, &out), SessionLookup::kAbsoluteExpired);
}

TEST(SessionStoreTest, DestroyAndEviction) {
  FaultInjectionEnv env(Env::Default());
  SessionOptions o;
  o.max_sessions = 3;
  SessionStore store(&env, o);
  const std::string a = store.Create(Alice());
  env.AdvanceMicros(1);
  const std::string b = store.Create(Alice());
  env.AdvanceMicros(1);
  const std::string c = store.Create(Alice());
  env.AdvanceMicros(1);
  const std::string d = store.Create(Alice());
  EXPECT_EQ(store.size(), 3u);
  Session out;
  EXPECT_EQ(store.Get(a, &out), SessionLookup::kMissing);  // the oldest went
  EXPECT_EQ(store.Get(d, &out), SessionLookup::kOk);
  store.Destroy(b);
  EXPECT_EQ(store.Get(b, &out), SessionLookup::kMissing);
  EXPECT_EQ(store.Get(c, &out), SessionLookup::kOk);
}

TEST(SessionStoreTest, CsrfTokenMustMatchExactly) {
  FaultInjectionEnv env(Env::Default());
  SessionStore store(&env, {});
  const std::string id = store.Create(Alice());
  const std::string id2 = store.Create(Alice());
  Session s, s2;
  ASSERT_EQ(store.Get(id, &s), SessionLookup::kOk);
  ASSERT_EQ(store.Get(id2, &s2), SessionLookup::kOk);
  EXPECT_TRUE(SessionStore::CheckCsrf(s, s.csrf_token));
  EXPECT_FALSE(SessionStore::CheckCsrf(s, ""));
  EXPECT_FALSE(SessionStore::CheckCsrf(s, s2.csrf_token));  // another session's token
  EXPECT_FALSE(SessionStore::CheckCsrf(s, s.csrf_token.substr(1)));
  std::string flipped = s.csrf_token;
  flipped.back() = flipped.back() == 'x' ? 'y' : 'x';
  EXPECT_FALSE(SessionStore::CheckCsrf(s, flipped));
  Session empty;
  EXPECT_FALSE(SessionStore::CheckCsrf(empty, ""));
}

TEST(SessionStoreTest, FlashIsTakenOnce) {
  FaultInjectionEnv env(Env::Default());
  SessionStore store(&env, {});
  const std::string id = store.Create(Alice());
  store.SetFlash(id, "done");
  EXPECT_EQ(store.TakeFlash(id), "done");
  EXPECT_EQ(store.TakeFlash(id), "");
}

}  // namespace
}  // namespace sealtrace::dashboard
