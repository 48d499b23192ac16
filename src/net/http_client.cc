#include "net/http_client.h"

#include <httplib.h>

#include <mutex>
#include <nlohmann/json.hpp>

namespace sealtrace::net {

struct HttpClient::Impl {
  std::mutex mu;  // guards `kept` (keep_alive): one request at a time on it
  std::unique_ptr<httplib::Client> kept;
};

namespace {

std::unique_ptr<httplib::Client> NewClient(const HttpClientOptions& o) {
  auto cli = std::make_unique<httplib::Client>(o.base_url);
  cli->set_connection_timeout(o.connect_timeout_s, 0);
  cli->set_read_timeout(o.read_timeout_s, 0);
  cli->set_write_timeout(o.write_timeout_s, 0);
  cli->set_keep_alive(o.keep_alive);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (!o.ca_file.empty()) cli->set_ca_cert_path(o.ca_file.c_str());
  cli->enable_server_certificate_verification(true);
#endif
  return cli;
}

httplib::Result SendOn(httplib::Client& cli, std::string_view method, const std::string& target,
                       const httplib::Headers& headers, std::string_view body,
                       const std::string& content_type) {
  if (method == "GET") return cli.Get(target, headers);
  if (method == "DELETE")
    return cli.Delete(target, headers, body.data(), body.size(), content_type);
  if (method == "PUT") return cli.Put(target, headers, body.data(), body.size(), content_type);
  return cli.Post(target, headers, body.data(), body.size(), content_type);
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), impl_(std::make_unique<Impl>()) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/') {
    options_.base_url.pop_back();
  }
}

HttpClient::~HttpClient() = default;

absl::StatusOr<ClientResponse> HttpClient::Send(std::string_view method, const std::string& target,
                                                const HeaderList& headers, std::string_view body,
                                                const std::string& content_type) {
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  auto send = [&]() -> httplib::Result {
    if (!options_.keep_alive) {
      auto cli = NewClient(options_);
      return SendOn(*cli, method, target, h, body, content_type);
    }
    std::lock_guard<std::mutex> l(impl_->mu);
    if (!impl_->kept) impl_->kept = NewClient(options_);
    return SendOn(*impl_->kept, method, target, h, body, content_type);
  };
  httplib::Result r = send();
  if (!r) {
    return absl::UnavailableError("cannot reach " + options_.base_url + ": " +
                                  httplib::to_string(r.error()));
  }
  return ClientResponse{r->status, std::move(r->body)};
}

bool IsLoopbackHttpUrl(std::string_view url) {
  for (const char* p : {"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:",
                        "http://localhost/", "http://[::1]:", "http://[::1]/"}) {
    if (url.rfind(p, 0) == 0) return true;
  }
  return url == "http://127.0.0.1" || url == "http://localhost" || url == "http://[::1]";
}

std::string DescribeErrorAnswer(const ClientResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string msg = r.body.substr(0, 512), rule;
  if (j.is_object()) {
    if (auto m = j.find("message"); m != j.end() && m->is_string()) msg = m->get<std::string>();
    if (auto ru = j.find("rule"); ru != j.end() && ru->is_string()) rule = ru->get<std::string>();
  }
  return "HTTP " + std::to_string(r.status) + ": " + msg +
         (rule.empty() ? "" : " [rule " + rule + "]");
}

std::string WithQuery(const std::string& path, const HeaderList& params) {
  httplib::Params query;
  for (const auto& [k, v] : params) {
    if (!v.empty()) query.emplace(k, v);
  }
  return httplib::append_query_params(path, query);
}

}  // namespace sealtrace::net
