#include "crypto/pkcs11.h"

#include <dlfcn.h>
#include <p11-kit/pkcs11.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <utility>

#include "common/env.h"
#include "crypto/crypto.h"

namespace sealtrace {
namespace {

constexpr size_t kGcmNonceBytes = 12;
constexpr size_t kGcmTagBytes = 16;
constexpr size_t kMaxIdleSessions = 8;
// DER of the Ed25519 curve OID 1.3.101.112 (RFC 8410), for CKA_EC_PARAMS.
constexpr unsigned char kEd25519Oid[] = {0x06, 0x03, 0x2B, 0x65, 0x70};

std::string RvName(CK_RV rv) {
  switch (rv) {
#define ST_RV(x) \
  case x:        \
    return #x;
    ST_RV(CKR_PIN_INCORRECT) ST_RV(CKR_PIN_INVALID) ST_RV(CKR_PIN_LEN_RANGE)
    ST_RV(CKR_PIN_LOCKED) ST_RV(CKR_PIN_EXPIRED) ST_RV(CKR_TOKEN_NOT_PRESENT)
    ST_RV(CKR_TOKEN_NOT_RECOGNIZED) ST_RV(CKR_DEVICE_REMOVED) ST_RV(CKR_DEVICE_ERROR)
    ST_RV(CKR_SLOT_ID_INVALID) ST_RV(CKR_SESSION_HANDLE_INVALID) ST_RV(CKR_SESSION_CLOSED)
    ST_RV(CKR_DEVICE_MEMORY) ST_RV(CKR_HOST_MEMORY) ST_RV(CKR_OBJECT_HANDLE_INVALID)
    ST_RV(CKR_KEY_HANDLE_INVALID) ST_RV(CKR_ENCRYPTED_DATA_INVALID)
    ST_RV(CKR_ENCRYPTED_DATA_LEN_RANGE) ST_RV(CKR_USER_NOT_LOGGED_IN)
    ST_RV(CKR_MECHANISM_INVALID) ST_RV(CKR_MECHANISM_PARAM_INVALID) ST_RV(CKR_GENERAL_ERROR)
    ST_RV(CKR_FUNCTION_FAILED) ST_RV(CKR_ARGUMENTS_BAD) ST_RV(CKR_TEMPLATE_INCONSISTENT)
    ST_RV(CKR_ATTRIBUTE_VALUE_INVALID) ST_RV(CKR_CRYPTOKI_NOT_INITIALIZED)
#undef ST_RV
    default: {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "CKR 0x%lx", static_cast<unsigned long>(rv));
      return buf;
    }
  }
}

// The session or the token went away: worth a fresh session (and slot lookup).
bool IsLostSession(CK_RV rv) {
  return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED ||
         rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_DEVICE_ERROR ||
         rv == CKR_SLOT_ID_INVALID || rv == CKR_USER_NOT_LOGGED_IN;
}
bool IsStaleHandle(CK_RV rv) {
  return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
}

absl::Status FromRv(CK_RV rv, std::string_view what) {
  if (rv == CKR_OK) return absl::OkStatus();
  std::string msg = "PKCS#11 " + std::string(what) + ": " + RvName(rv);
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
      return absl::PermissionDeniedError(msg + " (the token refused the PIN)");
    case CKR_PIN_LOCKED:
      return absl::PermissionDeniedError(msg + " (the token's user PIN is locked)");
    case CKR_DEVICE_MEMORY:
    case CKR_HOST_MEMORY:
      return absl::ResourceExhaustedError(msg + " (the token is full)");
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
      return absl::NotFoundError(msg + " (the key object is gone)");
    case CKR_ENCRYPTED_DATA_INVALID:
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
      return absl::DataLossError(msg + " (the ciphertext does not open under this key)");
    default:
      break;
  }
  if (IsLostSession(rv)) return absl::UnavailableError(msg + " (token unreachable)");
  return absl::InternalError(msg);
}

// --- process-wide module registry: C_Initialize once per module ---

struct Module {
  CK_FUNCTION_LIST_PTR f = nullptr;
  int refs = 0;
  bool owns_init = false;
};
std::mutex g_modules_mu;
std::map<std::string, Module>& Modules() {
  static auto* m = new std::map<std::string, Module>();
  return *m;
}

absl::StatusOr<CK_FUNCTION_LIST_PTR> AcquireModule(const std::string& path) {
  std::lock_guard<std::mutex> l(g_modules_mu);
  Module& m = Modules()[path];
  if (m.refs > 0) {
    ++m.refs;
    return m.f;
  }
  if (m.f == nullptr) {
    void* dl = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (dl == nullptr) {
      const char* e = ::dlerror();
      return absl::FailedPreconditionError("cannot load PKCS#11 module " + path + ": " +
                                           (e ? e : "unknown error"));
    }
    auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(dl, "C_GetFunctionList"));
    if (get == nullptr || get(&m.f) != CKR_OK || m.f == nullptr) {
      m.f = nullptr;
      return absl::FailedPreconditionError(path + " is not a PKCS#11 module");
    }
  }
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;
  CK_RV rv = m.f->C_Initialize(&args);
  if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) return FromRv(rv, "C_Initialize");
  m.owns_init = rv == CKR_OK;
  m.refs = 1;
  return m.f;
}

void ReleaseModule(const std::string& path) {
  std::lock_guard<std::mutex> l(g_modules_mu);
  Module& m = Modules()[path];
  if (--m.refs > 0) return;
  if (m.owns_init) m.f->C_Finalize(nullptr);
  // The module stays loaded: some modules register atexit handlers.
}

std::string Padded32(std::string_view s) {
  std::string out(s.substr(0, 32));
  out.resize(32, ' ');
  return out;
}

CK_BBOOL kTrue = CK_TRUE;
CK_BBOOL kFalse = CK_FALSE;

CK_ATTRIBUTE Attr(CK_ATTRIBUTE_TYPE t, const void* p, size_t n) {
  return CK_ATTRIBUTE{t, const_cast<void*>(p), static_cast<CK_ULONG>(n)};
}

}  // namespace

absl::StatusOr<std::string> ReadPkcs11Pin(Env* env, const std::string& pin_file,
                                          const std::string& pin_env) {
  std::string pin;
  if (!pin_file.empty()) {
    if (auto s = CheckPrivateFileMode(pin_file); !s.ok()) return s;
    auto text = env->ReadFile(pin_file);
    if (!text.ok()) return text.status();
    pin = text->substr(0, text->find('\n'));
    if (!pin.empty() && pin.back() == '\r') pin.pop_back();
    sodium_memzero(text->data(), text->size());
    if (pin.empty()) return absl::InvalidArgumentError("PIN file " + pin_file + " is empty");
    return pin;
  }
  const char* v = pin_env.empty() ? nullptr : std::getenv(pin_env.c_str());
  if (v == nullptr || *v == '\0') {
    return absl::InvalidArgumentError("no token PIN: give a PIN file or set $" +
                                      (pin_env.empty() ? std::string("SEALTRACE_HSM_PIN")
                                                       : pin_env));
  }
  return std::string(v);
}

struct Pkcs11Token::Impl {
  Pkcs11Config cfg;
  CK_FUNCTION_LIST_PTR f = nullptr;
  std::mutex mu;  // guards everything below
  bool have_slot = false;
  CK_SLOT_ID slot = 0;
  absl::Status pin_refused;  // set once the token refused the PIN
  std::vector<CK_SESSION_HANDLE> idle;
  std::map<std::pair<std::string, CK_OBJECT_CLASS>, CK_OBJECT_HANDLE> handles;

  ~Impl() {
    for (CK_SESSION_HANDLE s : idle) f->C_CloseSession(s);
    if (f != nullptr) ReleaseModule(cfg.module);
    sodium_memzero(cfg.pin.data(), cfg.pin.size());
  }

  absl::Status FindSlotLocked() {
    CK_ULONG n = 0;
    if (CK_RV rv = f->C_GetSlotList(CK_TRUE, nullptr, &n); rv != CKR_OK) {
      return FromRv(rv, "C_GetSlotList");
    }
    std::vector<CK_SLOT_ID> slots(n);
    if (CK_RV rv = f->C_GetSlotList(CK_TRUE, slots.data(), &n); rv != CKR_OK) {
      return FromRv(rv, "C_GetSlotList");
    }
    slots.resize(n);
    const std::string want = Padded32(cfg.token_label);
    for (CK_SLOT_ID id : slots) {
      CK_TOKEN_INFO ti;
      if (f->C_GetTokenInfo(id, &ti) != CKR_OK) continue;
      if (std::string(reinterpret_cast<const char*>(ti.label), 32) == want) {
        slot = id;
        have_slot = true;
        return absl::OkStatus();
      }
    }
    return absl::UnavailableError("PKCS#11: no token labelled \"" + cfg.token_label + "\" in " +
                                  cfg.module);
  }

  // A logged-in session: an idle one, or a new one. Every borrowed session is
  // checked to be logged in (a token can log the application out, and a
  // logged-out session finds no private object: an empty search must never be
  // mistaken for "no such key"). A PIN the token refused is never sent again.
  absl::StatusOr<CK_SESSION_HANDLE> Borrow() {
    std::lock_guard<std::mutex> l(mu);
    if (!pin_refused.ok()) return pin_refused;
    CK_SESSION_HANDLE s = 0;
    if (!idle.empty()) {
      s = idle.back();
      idle.pop_back();
    } else {
      if (!have_slot) {
        if (auto st = FindSlotLocked(); !st.ok()) return st;
      }
      CK_RV rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &s);
      if (rv != CKR_OK) {
        if (IsLostSession(rv)) have_slot = false;
        return FromRv(rv, "C_OpenSession");
      }
    }
    CK_SESSION_INFO si;
    CK_RV rv = f->C_GetSessionInfo(s, &si);
    if (rv == CKR_OK && si.state == CKS_RW_USER_FUNCTIONS) return s;
    if (rv != CKR_OK) {
      f->C_CloseSession(s);
      if (IsLostSession(rv)) have_slot = false;
      return FromRv(rv, "C_GetSessionInfo");
    }
    rv = f->C_Login(s, CKU_USER, reinterpret_cast<CK_UTF8CHAR_PTR>(cfg.pin.data()),
                    cfg.pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      f->C_CloseSession(s);
      absl::Status st = FromRv(rv, "C_Login");
      if (absl::IsPermissionDenied(st)) pin_refused = st;
      return st;
    }
    return s;
  }

  // Returns a session to the pool; one whose last call failed is closed (an
  // operation may still be active on it), and a lost one drops the pool.
  void Return(CK_SESSION_HANDLE s, CK_RV last) {
    std::lock_guard<std::mutex> l(mu);
    if (last != CKR_OK && !IsLostSession(last)) {
      f->C_CloseSession(s);
      return;
    }
    if (IsLostSession(last)) {
      f->C_CloseSession(s);
      for (CK_SESSION_HANDLE o : idle) f->C_CloseSession(o);
      idle.clear();
      handles.clear();
      have_slot = false;  // look the token up again next time
      return;
    }
    if (idle.size() < kMaxIdleSessions) {
      idle.push_back(s);
    } else {
      f->C_CloseSession(s);
    }
  }

  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindAll(CK_SESSION_HANDLE s,
                                                        std::vector<CK_ATTRIBUTE> tmpl,
                                                        CK_RV* rv_out) {
    std::vector<CK_OBJECT_HANDLE> out;
    CK_RV rv = f->C_FindObjectsInit(s, tmpl.data(), tmpl.size());
    *rv_out = rv;
    if (rv != CKR_OK) return FromRv(rv, "C_FindObjectsInit");
    for (;;) {
      CK_OBJECT_HANDLE batch[64];
      CK_ULONG n = 0;
      rv = f->C_FindObjects(s, batch, 64, &n);
      if (rv != CKR_OK || n == 0) break;
      out.insert(out.end(), batch, batch + n);
    }
    f->C_FindObjectsFinal(s);
    *rv_out = rv;
    if (rv != CKR_OK) return FromRv(rv, "C_FindObjects");
    return out;
  }

  absl::StatusOr<std::vector<CK_OBJECT_HANDLE>> FindByLabel(CK_SESSION_HANDLE s,
                                                            const std::string& label,
                                                            CK_OBJECT_CLASS cls, CK_RV* rv) {
    return FindAll(s,
                   {Attr(CKA_CLASS, &cls, sizeof(cls)), Attr(CKA_LABEL, label.data(), label.size())},
                   rv);
  }

  // The handle of the object (label, class), cached. NOT_FOUND if absent.
  absl::StatusOr<CK_OBJECT_HANDLE> Handle(CK_SESSION_HANDLE s, const std::string& label,
                                          CK_OBJECT_CLASS cls, CK_RV* rv) {
    {
      std::lock_guard<std::mutex> l(mu);
      auto it = handles.find({label, cls});
      if (it != handles.end()) return it->second;
    }
    auto found = FindByLabel(s, label, cls, rv);
    if (!found.ok()) return found.status();
    if (found->empty()) return absl::NotFoundError("PKCS#11: no key \"" + label + "\" in the token");
    std::lock_guard<std::mutex> l(mu);
    handles[{label, cls}] = found->front();
    return found->front();
  }
  void Forget(const std::string& label) {
    std::lock_guard<std::mutex> l(mu);
    for (auto it = handles.begin(); it != handles.end();) {
      it = it->first.first == label ? handles.erase(it) : std::next(it);
    }
  }

  // Runs op(session, rv) on a borrowed session; a lost session or a stale
  // cached handle is retried once (new session / fresh lookup).
  template <typename T, typename Op>
  absl::StatusOr<T> Run(const std::string& label, Op op) {
    absl::StatusOr<T> result = absl::InternalError("PKCS#11: not run");
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto s = Borrow();
      if (!s.ok()) return s.status();
      CK_RV rv = CKR_OK;
      result = op(*s, &rv);
      Return(*s, rv);
      if (IsStaleHandle(rv)) {
        Forget(label);
        continue;
      }
      if (IsLostSession(rv)) continue;
      break;
    }
    return result;
  }
};

Pkcs11Token::Pkcs11Token(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pkcs11Token::~Pkcs11Token() = default;

absl::StatusOr<std::unique_ptr<Pkcs11Token>> Pkcs11Token::Open(const Pkcs11Config& config) {
  InitCrypto();
  if (config.token_label.empty() || config.token_label.size() > 32) {
    return absl::InvalidArgumentError("PKCS#11 token label must be 1 to 32 bytes");
  }
  auto f = AcquireModule(config.module);
  if (!f.ok()) return f.status();
  auto impl = std::make_unique<Impl>();
  impl->cfg = config;
  impl->f = *f;
  auto s = impl->Borrow();  // finds the token and checks the PIN now
  if (!s.ok()) return s.status();
  impl->Return(*s, CKR_OK);
  return std::unique_ptr<Pkcs11Token>(new Pkcs11Token(std::move(impl)));
}

std::string Pkcs11Token::Describe() const {
  return "token \"" + impl_->cfg.token_label + "\" (" + impl_->cfg.module + ")";
}

absl::StatusOr<std::vector<std::string>> Pkcs11Token::ListKeys(std::string_view prefix) {
  Impl* m = impl_.get();
  return m->Run<std::vector<std::string>>(
      "", [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<std::vector<std::string>> {
        std::vector<std::string> out;
        for (CK_OBJECT_CLASS cls : {CKO_SECRET_KEY, CKO_PRIVATE_KEY}) {
          auto hs = m->FindAll(s, {Attr(CKA_CLASS, &cls, sizeof(cls))}, rv);
          if (!hs.ok()) return hs.status();
          for (CK_OBJECT_HANDLE h : *hs) {
            char label[256];
            CK_ATTRIBUTE a = Attr(CKA_LABEL, label, sizeof(label));
            const CK_RV arv = m->f->C_GetAttributeValue(s, h, &a, 1);
            if (IsStaleHandle(arv)) continue;  // destroyed meanwhile
            if (arv != CKR_OK) {
              *rv = arv;
              return FromRv(arv, "C_GetAttributeValue(CKA_LABEL)");
            }
            std::string l(label, a.ulValueLen);
            if (l.compare(0, prefix.size(), prefix) == 0) out.push_back(std::move(l));
          }
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
      });
}

absl::StatusOr<bool> Pkcs11Token::HasKey(const std::string& label) {
  Impl* m = impl_.get();
  return m->Run<bool>(label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<bool> {
    for (CK_OBJECT_CLASS cls : {CKO_SECRET_KEY, CKO_PRIVATE_KEY}) {
      auto hs = m->FindByLabel(s, label, cls, rv);  // the token filters by label
      if (!hs.ok()) return hs.status();
      if (!hs->empty()) return true;
    }
    return false;
  });
}

absl::Status Pkcs11Token::GenerateAesKey(const std::string& label) {
  auto has = HasKey(label);
  if (!has.ok()) return has.status();
  if (*has) return absl::AlreadyExistsError("PKCS#11: key \"" + label + "\" already exists");
  Impl* m = impl_.get();
  return m->Run<bool>(label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<bool> {
            CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
            CK_KEY_TYPE kt = CKK_AES;
            CK_ULONG len = 32;
            std::vector<CK_ATTRIBUTE> t = {
                Attr(CKA_CLASS, &cls, sizeof(cls)),       Attr(CKA_KEY_TYPE, &kt, sizeof(kt)),
                Attr(CKA_VALUE_LEN, &len, sizeof(len)),   Attr(CKA_TOKEN, &kTrue, 1),
                Attr(CKA_PRIVATE, &kTrue, 1),             Attr(CKA_SENSITIVE, &kTrue, 1),
                Attr(CKA_EXTRACTABLE, &kFalse, 1),        Attr(CKA_ENCRYPT, &kTrue, 1),
                Attr(CKA_DECRYPT, &kTrue, 1),             Attr(CKA_WRAP, &kFalse, 1),
                Attr(CKA_UNWRAP, &kFalse, 1),             Attr(CKA_SIGN, &kFalse, 1),
                Attr(CKA_VERIFY, &kFalse, 1),             Attr(CKA_DERIVE, &kFalse, 1),
                Attr(CKA_LABEL, label.data(), label.size())};
            CK_MECHANISM mech{CKM_AES_KEY_GEN, nullptr, 0};
            CK_OBJECT_HANDLE h = 0;
            *rv = m->f->C_GenerateKey(s, &mech, t.data(), t.size(), &h);
            if (*rv != CKR_OK) return FromRv(*rv, "C_GenerateKey");
            return true;
          })
      .status();
}

absl::Status Pkcs11Token::GenerateEd25519Key(const std::string& label) {
  auto has = HasKey(label);
  if (!has.ok()) return has.status();
  if (*has) return absl::AlreadyExistsError("PKCS#11: key \"" + label + "\" already exists");
  Impl* m = impl_.get();
  return m->Run<bool>(label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<bool> {
            std::vector<CK_ATTRIBUTE> pub = {
                Attr(CKA_TOKEN, &kTrue, 1), Attr(CKA_VERIFY, &kTrue, 1),
                Attr(CKA_EC_PARAMS, kEd25519Oid, sizeof(kEd25519Oid)),
                Attr(CKA_LABEL, label.data(), label.size())};
            std::vector<CK_ATTRIBUTE> priv = {
                Attr(CKA_TOKEN, &kTrue, 1),        Attr(CKA_PRIVATE, &kTrue, 1),
                Attr(CKA_SENSITIVE, &kTrue, 1),    Attr(CKA_EXTRACTABLE, &kFalse, 1),
                Attr(CKA_SIGN, &kTrue, 1),         Attr(CKA_DERIVE, &kFalse, 1),
                Attr(CKA_LABEL, label.data(), label.size())};
            CK_MECHANISM mech{CKM_EC_EDWARDS_KEY_PAIR_GEN, nullptr, 0};
            CK_OBJECT_HANDLE hp = 0, hs = 0;
            *rv = m->f->C_GenerateKeyPair(s, &mech, pub.data(), pub.size(), priv.data(),
                                          priv.size(), &hp, &hs);
            if (*rv != CKR_OK) return FromRv(*rv, "C_GenerateKeyPair");
            return true;
          })
      .status();
}

absl::Status Pkcs11Token::DestroyKey(const std::string& label) {
  Impl* m = impl_.get();
  auto n = m->Run<int>(label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<int> {
    int destroyed = 0;
    for (CK_OBJECT_CLASS cls : {CKO_SECRET_KEY, CKO_PRIVATE_KEY, CKO_PUBLIC_KEY}) {
      auto hs = m->FindByLabel(s, label, cls, rv);
      if (!hs.ok()) return hs.status();
      for (CK_OBJECT_HANDLE h : *hs) {
        *rv = m->f->C_DestroyObject(s, h);
        if (*rv != CKR_OK && !IsStaleHandle(*rv)) return FromRv(*rv, "C_DestroyObject");
        destroyed += *rv == CKR_OK ? 1 : 0;
      }
    }
    *rv = CKR_OK;
    return destroyed;
  });
  m->Forget(label);
  if (!n.ok()) return n.status();
  if (*n == 0) return absl::NotFoundError("PKCS#11: no key \"" + label + "\" in the token");
  return absl::OkStatus();
}

absl::StatusOr<std::string> Pkcs11Token::Encrypt(const std::string& label,
                                                 std::string_view plaintext, std::string_view ad) {
  Impl* m = impl_.get();
  return m->Run<std::string>(
      label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<std::string> {
        auto key = m->Handle(s, label, CKO_SECRET_KEY, rv);
        if (!key.ok()) return key.status();
        std::string out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
        randombytes_buf(out.data(), kGcmNonceBytes);
        CK_GCM_PARAMS p{reinterpret_cast<CK_BYTE_PTR>(out.data()), kGcmNonceBytes,
                        kGcmNonceBytes * 8,
                        reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(ad.data())), ad.size(),
                        kGcmTagBytes * 8};
        CK_MECHANISM mech{CKM_AES_GCM, &p, sizeof(p)};
        *rv = m->f->C_EncryptInit(s, &mech, *key);
        if (*rv != CKR_OK) return FromRv(*rv, "C_EncryptInit");
        CK_ULONG n = plaintext.size() + kGcmTagBytes;
        *rv = m->f->C_Encrypt(s, reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(plaintext.data())),
                              plaintext.size(),
                              reinterpret_cast<CK_BYTE_PTR>(out.data() + kGcmNonceBytes), &n);
        if (*rv != CKR_OK) return FromRv(*rv, "C_Encrypt");
        out.resize(kGcmNonceBytes + n);
        return out;
      });
}

absl::StatusOr<std::string> Pkcs11Token::Decrypt(const std::string& label,
                                                 std::string_view wrapped, std::string_view ad) {
  if (wrapped.size() < kGcmNonceBytes + kGcmTagBytes) {
    return absl::DataLossError("PKCS#11: wrapped value too short");
  }
  Impl* m = impl_.get();
  return m->Run<std::string>(
      label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<std::string> {
        auto key = m->Handle(s, label, CKO_SECRET_KEY, rv);
        if (!key.ok()) return key.status();
        std::string nonce(wrapped.substr(0, kGcmNonceBytes));
        CK_GCM_PARAMS p{reinterpret_cast<CK_BYTE_PTR>(nonce.data()), kGcmNonceBytes,
                        kGcmNonceBytes * 8,
                        reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(ad.data())), ad.size(),
                        kGcmTagBytes * 8};
        CK_MECHANISM mech{CKM_AES_GCM, &p, sizeof(p)};
        *rv = m->f->C_DecryptInit(s, &mech, *key);
        if (*rv != CKR_OK) return FromRv(*rv, "C_DecryptInit");
        std::string_view ct = wrapped.substr(kGcmNonceBytes);
        std::string out(ct.size(), '\0');
        CK_ULONG n = out.size();
        *rv = m->f->C_Decrypt(s, reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(ct.data())),
                              ct.size(), reinterpret_cast<CK_BYTE_PTR>(out.data()), &n);
        if (*rv != CKR_OK) {
          sodium_memzero(out.data(), out.size());
          // A GCM tag that does not verify: CKR_ENCRYPTED_DATA_INVALID in the
          // standard; SoftHSM2 2.6 answers CKR_GENERAL_ERROR. Anything else is
          // the token's trouble, not the ciphertext's.
          if (*rv == CKR_ENCRYPTED_DATA_INVALID || *rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
              *rv == CKR_GENERAL_ERROR) {
            return absl::DataLossError("PKCS#11 C_Decrypt: " + RvName(*rv) +
                                       " (the ciphertext does not open under this key)");
          }
          return FromRv(*rv, "C_Decrypt");
        }
        out.resize(n);
        return out;
      });
}

absl::StatusOr<std::string> Pkcs11Token::Ed25519PublicKey(const std::string& label) {
  Impl* m = impl_.get();
  return m->Run<std::string>(
      label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<std::string> {
        auto h = m->Handle(s, label, CKO_PUBLIC_KEY, rv);
        if (!h.ok()) return h.status();
        unsigned char point[80];
        CK_ATTRIBUTE a = Attr(CKA_EC_POINT, point, sizeof(point));
        *rv = m->f->C_GetAttributeValue(s, *h, &a, 1);
        if (*rv != CKR_OK) return FromRv(*rv, "C_GetAttributeValue(CKA_EC_POINT)");
        // DER OCTET STRING (04 20 || key) as SoftHSM and most tokens give it, or raw.
        if (a.ulValueLen == 34 && point[0] == 0x04 && point[1] == 0x20) {
          return std::string(reinterpret_cast<char*>(point) + 2, 32);
        }
        if (a.ulValueLen == 32) return std::string(reinterpret_cast<char*>(point), 32);
        return absl::InternalError("PKCS#11: unexpected Ed25519 public key encoding");
      });
}

absl::StatusOr<std::string> Pkcs11Token::SignEd25519(const std::string& label,
                                                     std::string_view message) {
  Impl* m = impl_.get();
  return m->Run<std::string>(
      label, [&](CK_SESSION_HANDLE s, CK_RV* rv) -> absl::StatusOr<std::string> {
        auto h = m->Handle(s, label, CKO_PRIVATE_KEY, rv);
        if (!h.ok()) return h.status();
        CK_MECHANISM mech{CKM_EDDSA, nullptr, 0};
        *rv = m->f->C_SignInit(s, &mech, *h);
        if (*rv != CKR_OK) return FromRv(*rv, "C_SignInit");
        std::string sig(64, '\0');
        CK_ULONG n = sig.size();
        *rv = m->f->C_Sign(s, reinterpret_cast<CK_BYTE_PTR>(const_cast<char*>(message.data())),
                           message.size(), reinterpret_cast<CK_BYTE_PTR>(sig.data()), &n);
        if (*rv != CKR_OK) return FromRv(*rv, "C_Sign");
        if (n != 64) return absl::InternalError("PKCS#11: Ed25519 signature is not 64 bytes");
        return sig;
      });
}

}  // namespace sealtrace
