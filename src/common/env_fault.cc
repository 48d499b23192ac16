#include "common/env_fault.h"

namespace sealtrace {
namespace {

class FaultFile final : public WritableFile {
 public:
  FaultFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}
  absl::Status Append(std::string_view data) override {
    if (auto s = env_->CheckWritable("append " + path_); !s.ok()) return s;
    auto s = base_->Append(data);
    if (s.ok()) env_->OnAppend(path_, data.size());
    return s;
  }
  absl::Status Sync() override {
    if (auto s = env_->CheckWritable("sync " + path_); !s.ok()) return s;
    auto s = base_->Sync();
    if (s.ok()) env_->OnSync(path_);
    return s;
  }
  absl::Status Close() override { return base_->Close(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

FaultInjectionEnv::FaultInjectionEnv(Env* base, int64_t mono_start, int64_t wall_start)
    : base_(base), mono_(mono_start), wall_(wall_start) {}

absl::Status FaultInjectionEnv::CheckWritable(const std::string& what) {
  std::lock_guard<std::mutex> l(mu_);
  ++mutating_calls_;
  if (!active_) return absl::UnavailableError("fault injection: filesystem inactive: " + what);
  if (fail_countdown_ > 0 && --fail_countdown_ == 0) {
    return absl::InternalError("fault injection: I/O error: " + what);
  }
  return absl::OkStatus();
}

void FaultInjectionEnv::OnAppend(const std::string& path, size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  files_[path].pos += n;
}

void FaultInjectionEnv::OnSync(const std::string& path) {
  std::lock_guard<std::mutex> l(mu_);
  auto& f = files_[path];
  f.synced = f.pos;
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionEnv::NewWritableFile(
    const std::string& path, int mode) {
  if (auto s = CheckWritable("create " + path); !s.ok()) return s;
  auto f = base_->NewWritableFile(path, mode);
  if (!f.ok()) return f.status();
  {
    std::lock_guard<std::mutex> l(mu_);
    files_[path] = FileState{};
  }
  return std::unique_ptr<WritableFile>(new FaultFile(this, path, std::move(*f)));
}

absl::StatusOr<std::string> FaultInjectionEnv::ReadFile(const std::string& path) {
  return base_->ReadFile(path);
}

absl::Status FaultInjectionEnv::RenameFile(const std::string& from, const std::string& to) {
  if (auto s = CheckWritable("rename " + from); !s.ok()) return s;
  auto s = base_->RenameFile(from, to);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  FileState st;
  if (auto it = files_.find(from); it != files_.end()) {
    st = it->second;
    files_.erase(it);
  } else {
    // A file from before this env existed: its data is durable, its new name is not.
    auto size = base_->FileSize(to);
    st.pos = st.synced = size.ok() ? *size : 0;
  }
  st.entry_durable = false;
  files_[to] = st;
  return absl::OkStatus();
}

absl::Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  if (auto s = CheckWritable("remove " + path); !s.ok()) return s;
  auto s = base_->RemoveFile(path);
  std::lock_guard<std::mutex> l(mu_);
  files_.erase(path);
  return s;
}

absl::Status FaultInjectionEnv::SyncDir(const std::string& dir) {
  if (auto s = CheckWritable("syncdir " + dir); !s.ok()) return s;
  auto s = base_->SyncDir(dir);
  if (!s.ok()) return s;
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [path, st] : files_) {
    if (DirName(path) == DirName(JoinPath(dir, "x"))) st.entry_durable = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FaultInjectionEnv::ListDir(const std::string& dir) {
  return base_->ListDir(dir);
}

absl::Status FaultInjectionEnv::CreateDirs(const std::string& dir, int mode) {
  if (auto s = CheckWritable("mkdir " + dir); !s.ok()) return s;
  return base_->CreateDirs(dir, mode);
}

absl::StatusOr<uint64_t> FaultInjectionEnv::FileSize(const std::string& path) {
  return base_->FileSize(path);
}

bool FaultInjectionEnv::FileExists(const std::string& path) { return base_->FileExists(path); }

int64_t FaultInjectionEnv::NowMonoMicros() {
  std::lock_guard<std::mutex> l(mu_);
  return mono_;
}

int64_t FaultInjectionEnv::NowWallMicros() {
  std::lock_guard<std::mutex> l(mu_);
  return wall_;
}

void FaultInjectionEnv::SleepMicros(int64_t micros) { AdvanceMicros(micros); }

void FaultInjectionEnv::RandomBytes(void* out, size_t n) { base_->RandomBytes(out, n); }

absl::Status FaultInjectionEnv::DropUnsyncedData() {
  std::map<std::string, FileState> files;
  {
    std::lock_guard<std::mutex> l(mu_);
    files.swap(files_);
  }
  for (auto& [path, st] : files) {
    if (!st.entry_durable) {
      base_->RemoveFile(path).IgnoreError();
      continue;
    }
    if (st.synced < st.pos) {
      auto data = base_->ReadFile(path);
      if (!data.ok()) return data.status();
      data->resize(std::min<uint64_t>(st.synced, data->size()));
      auto f = base_->NewWritableFile(path);
      if (!f.ok()) return f.status();
      if (auto s = (*f)->Append(*data); !s.ok()) return s;
      if (auto s = (*f)->Sync(); !s.ok()) return s;
      if (auto s = (*f)->Close(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void FaultInjectionEnv::SetFilesystemActive(bool active) {
  std::lock_guard<std::mutex> l(mu_);
  active_ = active;
}

void FaultInjectionEnv::FailNthWrite(int n) {
  std::lock_guard<std::mutex> l(mu_);
  fail_countdown_ = n;
}

void FaultInjectionEnv::AdvanceMicros(int64_t micros) {
  std::lock_guard<std::mutex> l(mu_);
  mono_ += micros;
  wall_ += micros;
}

void FaultInjectionEnv::SetWallMicros(int64_t wall) {
  std::lock_guard<std::mutex> l(mu_);
  wall_ = wall;
}

int FaultInjectionEnv::mutating_calls() const {
  std::lock_guard<std::mutex> l(mu_);
  return mutating_calls_;
}

}  // namespace sealtrace
