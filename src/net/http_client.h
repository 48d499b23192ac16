// HttpClient: sealtrace's one HTTP(S) client, used by the uploader
// (agent/vault_client), the exporter (export/access_provider) and the CLI's
// access commands. It sets the timeouts, verifies the server certificate
// (against `ca_file` when given, else the system store) and turns "no answer"
// into one UNAVAILABLE message naming the server.
//
// Ownership: self-contained. Thread-safety: Send may be called from several
// threads; with keep_alive the one connection is used by one request at a
// time, otherwise each request opens its own.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sealtrace::net {

struct HttpClientOptions {
  std::string base_url;  // scheme://host[:port], no path
  std::string ca_file;   // PEM CA to verify an https server ("" = system store)
  int connect_timeout_s = 5;
  int read_timeout_s = 30;
  int write_timeout_s = 30;
  bool keep_alive = false;  // one persistent connection (see above)
};

struct ClientResponse {
  int status = 0;
  std::string body;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // One request; `target` is the path with its query. Any HTTP status is an
  // answer; UNAVAILABLE ("cannot reach URL: reason") when none came.
  absl::StatusOr<ClientResponse> Send(std::string_view method, const std::string& target,
                                      const HeaderList& headers, std::string_view body = {},
                                      const std::string& content_type = "application/json");
  const std::string& base_url() const { return options_.base_url; }

 private:
  struct Impl;
  HttpClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

// True for http:// to localhost, 127.0.0.0/8 or [::1]: the only places a
// client may speak plain HTTP.
bool IsLoopbackHttpUrl(std::string_view url);

// "HTTP 403: message [rule r]" from an error answer's JSON (or its raw body).
std::string DescribeErrorAnswer(const ClientResponse& r);

// "path?k=v&..." with the values URL-encoded; empty values are left out.
std::string WithQuery(const std::string& path, const HeaderList& params);

}  // namespace sealtrace::net
