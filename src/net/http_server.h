// HttpServer: sealtrace's one HTTP(S) server core. The vault, the ingest
// gateway, the access API and the dashboard register routes on it; nothing
// else in the tree speaks httplib's server API.
//
// A Route is (method, path pattern, body cap, handler). The core reads the
// request body up to the route's cap before calling the handler (beyond it:
// HttpRequest::body_too_large, body empty, and the connection is closed after
// the answer), turns every unmatched path, refused method, oversized body and
// handler exception into the one error JSON {"error": code, "message": reason}
// (ErrorResponse), logs method, path and status only (never headers, tokens or
// bodies), and serves from a thread pool.
//
// Ownership: routes are copied in; handlers must stay valid while the server
// runs. Thread-safety: AddRoute, Bind and Serve from one thread before and
// while starting; Stop from any thread (a signal-handling thread too);
// handlers run concurrently on the pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sealtrace::net {

struct HttpRequest {
  std::string method;                        // GET, POST, PUT, DELETE
  std::string path;                          // without the query
  std::string target;                        // path and query as sent
  std::map<std::string, std::string> query;  // decoded; first value of each name
  std::string body;                          // at most the route's max_body bytes
  // Content-Length as declared (nullopt: absent; UINT64_MAX: unparsable).
  std::optional<uint64_t> content_length;
  bool body_too_large = false;  // the body exceeded the cap (body is empty)
  bool body_read = false;       // the whole body was read (false: refused early, cut short)
  bool multipart = false;       // multipart/form-data: never read (no route takes it)

  std::map<std::string, std::string> headers;  // names lower-cased; first value of each

  // Value of header `name` (case-insensitive), "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body, std::string content_type = "text/plain");
};

// {"error": code, "message": message[, "rule": rule]} with `status` (invalid
// UTF-8 replaced). 401 answers carry WWW-Authenticate: Bearer realm="sealtrace".
HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view rule = "");

// The one map from a non-OK absl::Status to an HTTP status and error code:
//   InvalidArgument, OutOfRange   400 bad_request
//   Unauthenticated               401 unauthenticated
//   PermissionDenied              403 forbidden
//   NotFound                      404 not_found
//   FailedPrecondition, AlreadyExists  409 conflict
//   ResourceExhausted             413 too_large
//   Unimplemented                 501 not_implemented
//   Unavailable                   503 unavailable (retry later)
//   DataLoss                      500 data_loss
//   anything else                 500 internal
struct HttpError {
  int status;
  const char* code;
};
HttpError HttpErrorFor(const absl::Status& s);
// ErrorResponse for `s` (its message; `rule` as above).
HttpResponse StatusResponse(const absl::Status& s, std::string_view rule = "");

using Handler = std::function<HttpResponse(const HttpRequest&)>;

struct Route {
  std::string method;   // GET, POST, PUT or DELETE
  std::string pattern;  // a path, or an ECMAScript regex matching the whole path
  // Largest body read for the handler (POST/PUT); 0 reads none.
  size_t max_body = 0;
  // Optional: decides from the headers alone (body not yet read) whether to
  // read the body; false calls the handler with no body (body_read false) and
  // closes the connection after the answer. Lets a route refuse a bad token
  // or a declared size before receiving megabytes.
  std::function<bool(const HttpRequest&)> read_body_if;
  // Logged at debug instead of info (health checks, metrics scrapes).
  bool quiet = false;
  Handler handler;

  static Route Make(std::string method, std::string pattern, size_t max_body, Handler h) {
    Route r;
    r.method = std::move(method);
    r.pattern = std::move(pattern);
    r.max_body = max_body;
    r.handler = std::move(h);
    return r;
  }
  static Route Get(std::string pattern, Handler h) {
    return Make("GET", std::move(pattern), 0, std::move(h));
  }
  static Route Post(std::string pattern, size_t max_body, Handler h) {
    return Make("POST", std::move(pattern), max_body, std::move(h));
  }
  Route&& Quiet() && {
    quiet = true;
    return std::move(*this);
  }
};

struct HttpServerOptions {
  std::string tls_cert_file;  // PEM; both set = HTTPS
  std::string tls_key_file;   // PEM private key
  int threads = 0;            // request threads; 0 = httplib's default
  std::string log_name = "http";
  // Log each request (method, path, status) at info, or quiet routes at
  // debug; false logs none (the ingest gateway: one line per upload would
  // cost more than the upload at company scale).
  bool log_requests = true;
};

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Whether the certificate and key loaded (always true for plain HTTP).
  bool valid() const;
  bool tls() const;

  // Adds a route; call before Serve(). Routes are matched in the order added.
  void AddRoute(Route route);

  // Binds and listens; port 0 picks a free port. Returns the bound port.
  // Connections queue from here on and are served once Serve() runs.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves until Stop(). Returns an error if the listen loop failed.
  absl::Status Serve();
  // Stops accepting, lets in-flight requests finish, makes Serve() return.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT" -> host and port (1..65535; 0 allowed when `allow_zero`).
bool SplitHostPort(std::string_view listen, std::string* host, int* port, bool allow_zero = true);

}  // namespace sealtrace::net
