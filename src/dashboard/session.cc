#include "dashboard/session.h"

#include <algorithm>

#include "common/env.h"
#include "crypto/crypto.h"

namespace sealtrace::dashboard {

SessionStore::SessionStore(Env* env, SessionOptions options)
    : env_(env != nullptr ? env : Env::Default()), options_(options) {}

std::string SessionStore::Key(std::string_view id) const { return Sha256(id); }

std::string SessionStore::RandomToken() {
  std::string raw(32, '\0');
  env_->RandomBytes(raw.data(), raw.size());
  return Base64Url(raw);
}

void SessionStore::SweepLocked(int64_t now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& s = it->second;
    if (now - s.last_seen_us >= options_.idle_us || now - s.created_us >= options_.absolute_us) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string SessionStore::Create(Session s) {
  const std::string id = RandomToken();
  s.csrf_token = RandomToken();
  const int64_t now = env_->NowWallMicros();
  s.created_us = now;
  s.last_seen_us = now;
  std::lock_guard<std::mutex> lock(mu_);
  SweepLocked(now);
  while (!sessions_.empty() && sessions_.size() >= options_.max_sessions) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_seen_us < b.second.last_seen_us;
    });
    sessions_.erase(oldest);
  }
  sessions_[Key(id)] = std::move(s);
  return id;
}

SessionLookup SessionStore::Get(std::string_view id, Session* out) {
  // Reject anything that is not the shape we issue before hashing.
  if (id.size() != 43) return SessionLookup::kMissing;
  const int64_t now = env_->NowWallMicros();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(Key(id));
  if (it == sessions_.end()) return SessionLookup::kMissing;
  Session& s = it->second;
  if (now - s.created_us >= options_.absolute_us) {
    sessions_.erase(it);
    return SessionLookup::kAbsoluteExpired;
  }
  if (now - s.last_seen_us >= options_.idle_us) {
    sessions_.erase(it);
    return SessionLookup::kIdleExpired;
  }
  s.last_seen_us = std::max(s.last_seen_us, now);
  *out = s;
  return SessionLookup::kOk;
}

void SessionStore::Destroy(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(Key(id));
}

void SessionStore::SetFlash(std::string_view id, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(Key(id));
  if (it != sessions_.end()) it->second.flash = std::move(message);
}

void SessionStore::MarkSteppedUp(std::string_view id, int64_t now_us) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(Key(id));
  if (it != sessions_.end()) it->second.stepped_up_us = now_us;
}

std::string SessionStore::TakeFlash(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(Key(id));
  if (it == sessions_.end()) return "";
  std::string out = std::move(it->second.flash);
  it->second.flash.clear();
  return out;
}

size_t SessionStore::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

bool SessionStore::CheckCsrf(const Session& s, std::string_view submitted) {
  if (s.csrf_token.empty() || submitted.size() != s.csrf_token.size()) return false;
  return ConstantTimeEquals(s.csrf_token, submitted);
}

}  // namespace sealtrace::dashboard
