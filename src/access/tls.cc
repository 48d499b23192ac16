#include "access/tls.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "access/access_service.h"

namespace sealtrace::access {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

absl::Status SslError(const std::string& what) {
  return absl::InternalError("OpenSSL: " + what + " failed");
}

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

absl::StatusOr<Cert> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer,
                              EVP_PKEY* issuer_key, long days, bool ca, const std::string& san) {
  Cert cert(X509_new());
  if (!cert) return SslError("X509_new");
  X509_set_version(cert.get(), 2);
  std::string serial = RandomBytes(16);
  serial[0] = static_cast<char>(serial[0] & 0x7f);
  BIGNUM* bn = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()), 16, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 86400L);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("sealtrace"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* iss = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  bool ok = true;
  if (ca) {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
    ok = ok && AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = ok && AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature");
    ok = ok && AddExt(cert.get(), iss, NID_ext_key_usage, "serverAuth");
    ok = ok && AddExt(cert.get(), iss, NID_subject_alt_name, san);
  }
  ok = ok && AddExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  if (!ok) return SslError("adding certificate extensions");
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return SslError("X509_sign");
  return cert;
}

absl::Status WritePem(const std::string& path, const std::function<int(BIO*)>& write, int mode) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return SslError("BIO_new");
  if (write(bio) != 1) {
    BIO_free(bio);
    return SslError("PEM write");
  }
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  absl::Status s = WriteFileAtomic(Env::Default(), path, pem, mode);
  OPENSSL_cleanse(pem.data(), pem.size());
  return s;
}

}  // namespace

TlsPaths TlsPathsIn(const std::string& dir) {
  return {JoinPath(dir, "ca.crt"), JoinPath(dir, "ca.key"), JoinPath(dir, "server.crt"),
          JoinPath(dir, "server.key")};
}

absl::StatusOr<TlsPaths> MakeLocalTls(const std::string& dir,
                                      const std::vector<std::string>& extra_names) {
  Env* env = Env::Default();
  TlsPaths p = TlsPathsIn(dir);
  for (const auto& f : {p.ca_cert, p.ca_key, p.server_cert, p.server_key}) {
    if (env->FileExists(f)) return absl::AlreadyExistsError(f + " already exists");
  }
  if (auto s = env->CreateDirs(dir, 0700); !s.ok()) return s;
  Pkey ca_key(EVP_EC_gen("P-256"));
  Pkey srv_key(EVP_EC_gen("P-256"));
  if (!ca_key || !srv_key) return SslError("EVP_EC_gen");
  auto ca = MakeCert(ca_key.get(), "sealtrace local CA", nullptr, ca_key.get(), 3650, true, "");
  if (!ca.ok()) return ca.status();
  std::string san = "IP:127.0.0.1,IP:::1,DNS:localhost";
  for (const auto& n : extra_names) {
    in6_addr a6;
    in_addr a4;
    const bool ip =
        inet_pton(AF_INET, n.c_str(), &a4) == 1 || inet_pton(AF_INET6, n.c_str(), &a6) == 1;
    san += (ip ? ",IP:" : ",DNS:") + n;
  }
  auto srv = MakeCert(srv_key.get(), "sealtrace vault", ca->get(), ca_key.get(), 730, false, san);
  if (!srv.ok()) return srv.status();
  EVP_PKEY* cak = ca_key.get();
  EVP_PKEY* sk = srv_key.get();
  X509* cac = ca->get();
  X509* sc = srv->get();
  if (auto s = WritePem(
          p.ca_key,
          [&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, cak, nullptr, nullptr, 0, nullptr, nullptr);
          },
          0600);
      !s.ok()) {
    return s;
  }
  if (auto s = WritePem(
          p.server_key,
          [&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, sk, nullptr, nullptr, 0, nullptr, nullptr);
          },
          0600);
      !s.ok()) {
    return s;
  }
  if (auto s = WritePem(
          p.ca_cert, [&](BIO* b) { return PEM_write_bio_X509(b, cac); }, 0644);
      !s.ok()) {
    return s;
  }
  if (auto s = WritePem(
          p.server_cert, [&](BIO* b) { return PEM_write_bio_X509(b, sc); }, 0644);
      !s.ok()) {
    return s;
  }
  return p;
}

absl::StatusOr<InitResult> InitDataDir(const std::string& data_dir,
                                       const std::vector<std::string>& extra_names,
                                       vault::VaultOptions vault_options,
                                       AccessOptions access_options) {
  vault_options.data_dir = data_dir;
  auto v = vault::Vault::Open(vault_options);
  if (!v.ok()) return v.status();
  auto stack = OpenAccessStack(v->get(), std::move(access_options));
  if (!stack.ok()) return stack.status();
  auto existing = (*stack)->store->ListPrincipals();
  if (!existing.ok()) return existing.status();
  for (const auto& p : *existing) {
    if (p.role != Role::kContributor) {
      return absl::FailedPreconditionError(data_dir +
                                           " is already initialised (it has principals)");
    }
  }
  InitResult out;
  auto tls = MakeLocalTls(JoinPath(data_dir, "tls"), extra_names);
  if (!tls.ok()) return tls.status();
  out.tls = *tls;
  out.enroll_secret_file = (*v)->enroll_secret_path();
  Env* env = Env::Default();
  const std::string bdir = JoinPath(data_dir, "bootstrap");
  if (auto s = env->CreateDirs(bdir, 0700); !s.ok()) return s;
  auto write = [&](Role role, const std::string& name,
                   const std::string& file) -> absl::StatusOr<std::string> {
    auto t = (*stack)->service->BootstrapPrincipal(role, name);
    if (!t.ok()) return t.status();
    const std::string path = JoinPath(bdir, file);
    if (auto s = WriteFileAtomic(env, path, t->token + "\n", 0600); !s.ok()) return s;
    return path;
  };
  auto op = write(Role::kOperator, "operator", "operator.token");
  if (!op.ok()) return op.status();
  out.operator_token_file = *op;
  for (int i = 1; i <= 2; ++i) {
    auto po = write(Role::kPrivacyOfficer, "privacy officer " + std::to_string(i),
                    "privacy_officer_" + std::to_string(i) + ".token");
    if (!po.ok()) return po.status();
    out.officer_token_files.push_back(*po);
  }
  if (auto cp = (*stack)->log->Checkpoint(); !cp.ok()) return cp.status();
  return out;
}

}  // namespace sealtrace::access
