#include "net/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"

namespace sealtrace::net {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Reads the body through `reader`, stopping once it exceeds `cap`. False if
// the client went away or the body exceeded `cap` (then *over = true).
bool ReadCapped(const httplib::ContentReader& reader, size_t cap, std::string* body, bool* over) {
  *over = false;
  return reader([&](const char* data, size_t n) {
    if (body->size() + n > cap) {
      *over = true;
      return false;
    }
    body->append(data, n);
    return true;
  });
}

HttpRequest FromHttplib(const httplib::Request& in) {
  HttpRequest r;
  r.method = in.method;
  r.path = in.path;
  r.target = in.target;
  for (const auto& [k, v] : in.params) r.query.emplace(k, v);  // keeps the first
  for (const auto& [k, v] : in.headers) r.headers.emplace(Lower(k), v);
  if (in.has_header("Content-Length")) {
    uint64_t n = 0;
    r.content_length = absl::SimpleAtoi(in.get_header_value("Content-Length"), &n)
                           ? n
                           : std::numeric_limits<uint64_t>::max();
  }
  r.multipart = in.is_multipart_form_data();
  return r;
}

void ToHttplib(const HttpResponse& out, httplib::Response& res) {
  res.status = out.status;
  for (const auto& [k, v] : out.headers) res.set_header(k, v);
  res.set_content(out.body, out.content_type);
}

}  // namespace

std::string HttpRequest::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? std::string() : it->second;
}

bool HttpRequest::HasHeader(std::string_view name) const { return headers.count(Lower(name)) > 0; }

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

HttpResponse ErrorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view rule) {
  nlohmann::json j = {{"error", std::string(code)}, {"message", std::string(message)}};
  if (!rule.empty()) j["rule"] = std::string(rule);
  HttpResponse r =
      HttpResponse::Json(status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (status == 401) r.SetHeader("WWW-Authenticate", "Bearer realm=\"sealtrace\"");
  return r;
}

HttpError HttpErrorFor(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return {400, "bad_request"};
    case absl::StatusCode::kUnauthenticated:
      return {401, "unauthenticated"};
    case absl::StatusCode::kPermissionDenied:
      return {403, "forbidden"};
    case absl::StatusCode::kNotFound:
      return {404, "not_found"};
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return {409, "conflict"};
    case absl::StatusCode::kResourceExhausted:
      return {413, "too_large"};
    case absl::StatusCode::kUnimplemented:
      return {501, "not_implemented"};
    case absl::StatusCode::kUnavailable:
      return {503, "unavailable"};
    case absl::StatusCode::kDataLoss:
      return {500, "data_loss"};
    default:
      return {500, "internal"};
  }
}

HttpResponse StatusResponse(const absl::Status& s, std::string_view rule) {
  const HttpError e = HttpErrorFor(s);
  return ErrorResponse(e.status, e.code, std::string(s.message()), rule);
}

struct HttpServer::Impl {
  explicit Impl(HttpServerOptions o) : options(std::move(o)) {
    if (!options.tls_cert_file.empty() && !options.tls_key_file.empty()) {
      auto ssl = std::make_unique<httplib::SSLServer>(options.tls_cert_file.c_str(),
                                                      options.tls_key_file.c_str());
      valid = ssl->is_valid();
      tls = true;
      svr = std::move(ssl);
    } else {
      svr = std::make_unique<httplib::Server>();
    }
    if (options.threads > 0) {
      svr->new_task_queue = [n = options.threads] { return new httplib::ThreadPool(n); };
    }
    svr->set_payload_max_length(1);
    InstallErrorPolicy();
  }

  void InstallErrorPolicy() {
    svr->set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      switch (res.status) {
        case 404:
          return ToHttplib(ErrorResponse(404, "not_found", "no such route"), res);
        case 405:
          return ToHttplib(ErrorResponse(405, "method_not_allowed", "method not allowed"), res);
        case 413:
          return ToHttplib(ErrorResponse(413, "oversized", "request body too large"), res);
        default:
          return ToHttplib(
              ErrorResponse(res.status, "bad_request", "request could not be processed"), res);
      }
    });
    svr->set_exception_handler(
        [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
          ToHttplib(ErrorResponse(500, "internal", "internal error"), res);
        });
    if (!options.log_requests) return;
    svr->set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      // Method, path and status only: never headers (tokens) or bodies.
      const auto level = quiet_paths.count(req.path) ? spdlog::level::debug : spdlog::level::info;
      spdlog::log(level, "{} {} {} -> {}", options.log_name, req.method, req.path, res.status);
    });
  }

  // The handler with the body read as the route asks.
  void Call(const Route& route, const httplib::Request& in, httplib::Response& res,
            const httplib::ContentReader* reader) {
    HttpRequest req = FromHttplib(in);
    const bool wants_body = reader != nullptr && route.max_body > 0 && !req.multipart;
    if (!wants_body) {
      // Only a request that declared no body leaves nothing unread behind it
      // (a chunked or multipart body would be parsed as the next request).
      req.body_read = reader == nullptr || (req.content_length && *req.content_length == 0);
    } else if (req.content_length && *req.content_length > route.max_body) {
      req.body_too_large = true;
    } else if (!route.read_body_if || route.read_body_if(req)) {
      bool over = false;
      req.body_read = ReadCapped(*reader, route.max_body, &req.body, &over);
      if (over) {
        req.body_too_large = true;
        req.body.clear();
      }
    }  // else refused from its headers: the body stays unread
    HttpResponse out = route.handler(req);
    if (!req.body_read) out.SetHeader("Connection", "close");
    ToHttplib(out, res);
  }

  HttpServerOptions options;
  bool valid = true;
  bool tls = false;
  std::unique_ptr<httplib::Server> svr;
  std::set<std::string> quiet_paths;
  size_t max_body = 1;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> serving{false};
  bool bound = false;
};

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

bool HttpServer::valid() const { return impl_->valid; }
bool HttpServer::tls() const { return impl_->tls; }

void HttpServer::AddRoute(Route route) {
  Impl* impl = impl_.get();
  if (route.quiet) impl->quiet_paths.insert(route.pattern);
  impl->max_body = std::max(impl->max_body, route.max_body);
  impl->svr->set_payload_max_length(impl->max_body);
  auto r = std::make_shared<const Route>(std::move(route));
  auto plain = [impl, r](const httplib::Request& req, httplib::Response& res) {
    impl->Call(*r, req, res, nullptr);
  };
  auto with_body = [impl, r](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
    impl->Call(*r, req, res, &reader);
  };
  httplib::Server& s = *impl->svr;
  if (r->method == "GET") {
    s.Get(r->pattern, plain);
  } else if (r->method == "POST") {
    s.Post(r->pattern, with_body);
  } else if (r->method == "PUT") {
    s.Put(r->pattern, with_body);
  } else if (r->method == "DELETE") {
    s.Delete(r->pattern, with_body);
  }
}

absl::StatusOr<int> HttpServer::Bind(const std::string& host, int port) {
  if (impl_->bound) return absl::FailedPreconditionError("server already bound");
  if (!impl_->valid) {
    return absl::FailedPreconditionError("TLS certificate or key could not be loaded (" +
                                         impl_->options.tls_cert_file + ", " +
                                         impl_->options.tls_key_file + ")");
  }
  int bound = port;
  if (port == 0) {
    bound = impl_->svr->bind_to_any_port(host);
    if (bound < 0) return absl::UnavailableError("cannot bind " + host + " to a free port");
  } else if (!impl_->svr->bind_to_port(host, port)) {
    return absl::UnavailableError("cannot bind " + host + ":" + std::to_string(port) +
                                  " (in use, or not a local address?)");
  }
  impl_->bound = true;
  return bound;
}

absl::Status HttpServer::Serve() {
  if (!impl_->bound) return absl::FailedPreconditionError("Serve() before Bind()");
  impl_->serving = true;
  absl::Status s = absl::OkStatus();
  if (!impl_->stop_requested) {
    if (!impl_->svr->listen_after_bind() && !impl_->stop_requested) {
      s = absl::UnavailableError("HTTP listen loop failed");
    }
  }
  impl_->serving = false;
  return s;
}

void HttpServer::Stop() {
  impl_->stop_requested = true;
  // Serve() may be between its flag check and the listen loop's start: wait
  // for the loop to run (or for Serve to return) so stop() takes effect.
  while (impl_->serving && !impl_->svr->is_running()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->svr->stop();
}

bool SplitHostPort(std::string_view listen, std::string* host, int* port, bool allow_zero) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  *host = std::string(listen.substr(0, colon));
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  return absl::SimpleAtoi(std::string(listen.substr(colon + 1)), port) &&
         *port >= (allow_zero ? 0 : 1) && *port <= 65535;
}

}  // namespace sealtrace::net
