// The HTTP core over real loopback sockets, with httplib's client.
#include "net/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

namespace sealtrace::net {
namespace {

class Served {
 public:
  explicit Served(HttpServer* s) : s_(s) {
    auto port = s_->Bind("127.0.0.1", 0);
    EXPECT_TRUE(port.ok()) << port.status();
    port_ = port.ok() ? *port : 0;
    thread_ = std::thread([this] { served_ = s_->Serve(); });
  }
  ~Served() {
    s_->Stop();
    thread_.join();
    EXPECT_TRUE(served_.ok()) << served_;
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10, 0);
    return c;
  }

 private:
  HttpServer* s_;
  int port_ = 0;
  std::thread thread_;
  absl::Status served_;
};

nlohmann::json Parse(const std::string& body) {
  return nlohmann::json::parse(body, nullptr, false);
}

TEST(HttpServer, RoutesHeadersQueryAndTheOneErrorJson) {
  HttpServer s;
  s.AddRoute(Route::Get("/v1/echo", [](const HttpRequest& r) {
    nlohmann::json j = {{"auth", r.Header("authorization")},
                        {"has_x", r.HasHeader("X-Missing")},
                        {"q", r.query.count("a") ? r.query.at("a") : ""},
                        {"target", r.target}};
    return HttpResponse::Json(200, j.dump());
  }));
  s.AddRoute(Route::Get(R"(/v1/items/(\d+))",
                        [](const HttpRequest& r) { return HttpResponse::Text(200, r.path); }));
  s.AddRoute(Route::Get("/v1/boom", [](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("secret detail that must not leak");
  }));
  s.AddRoute(Route::Get("/v1/denied", [](const HttpRequest&) {
    return StatusResponse(absl::UnauthenticatedError("token unknown"), "token.unknown");
  }));
  Served served(&s);
  auto c = served.Client();

  auto r = c.Get("/v1/echo?a=1%202&a=second", {{"AUTHORIZATION", "Bearer t"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto j = Parse(r->body);
  EXPECT_EQ(j["auth"], "Bearer t");  // header names are case-insensitive
  EXPECT_EQ(j["has_x"], false);
  EXPECT_EQ(j["q"], "1 2");  // decoded, the first value
  EXPECT_EQ(j["target"], "/v1/echo?a=1%202&a=second");

  r = c.Get("/v1/items/42");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "/v1/items/42");
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain");

  r = c.Get("/v1/items/x");  // the pattern matches the whole path only
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Parse(r->body)["error"], "not_found");

  r = c.Get("/v1/boom");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(Parse(r->body)["error"], "internal");
  EXPECT_EQ(r->body.find("secret detail"), std::string::npos);

  r = c.Get("/v1/denied");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(Parse(r->body)["rule"], "token.unknown");
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"sealtrace\"");
}

TEST(HttpServer, BodiesAreCappedAndCanBeRefusedBeforeTheyAreRead) {
  HttpServer s;
  std::atomic<int> calls{0};
  auto describe = [&calls](const HttpRequest& r) {
    ++calls;
    nlohmann::json j = {{"size", r.body.size()},
                        {"too_large", r.body_too_large},
                        {"read", r.body_read},
                        {"declared", r.content_length ? *r.content_length : 0}};
    return HttpResponse::Json(200, j.dump());
  };
  s.AddRoute(Route::Post("/small", 16, describe));
  Route gated = Route::Make("PUT", "/gated", 1 << 20, describe);
  gated.read_body_if = [](const HttpRequest& r) { return r.Header("X-Ok") == "yes"; };
  s.AddRoute(std::move(gated));
  Served served(&s);
  auto c = served.Client();
  c.set_keep_alive(true);  // so a "Connection: close" is the server's own

  auto r = c.Post("/small", std::string(16, 'a'), "application/octet-stream");
  ASSERT_TRUE(r);
  auto j = Parse(r->body);
  EXPECT_EQ(j["size"], 16);
  EXPECT_EQ(j["read"], true);
  EXPECT_EQ(j["too_large"], false);
  EXPECT_NE(r->get_header_value("Connection"), "close");

  // Declared beyond the cap: the handler is told, nothing is read, the
  // connection closes after the answer.
  r = c.Post("/small", std::string(17, 'a'), "application/octet-stream");
  ASSERT_TRUE(r);
  j = Parse(r->body);
  EXPECT_EQ(j["too_large"], true);
  EXPECT_EQ(j["size"], 0);
  EXPECT_EQ(j["declared"], 17);
  EXPECT_EQ(r->get_header_value("Connection"), "close");

  // Far beyond every cap: the same, and the megabyte is never buffered (the
  // client may see the connection close while it is still sending).
  r = served.Client().Post("/small", std::string((1 << 20) + 1, 'a'), "application/octet-stream");
  if (r) {
    EXPECT_EQ(Parse(r->body)["too_large"], true);
  }
  EXPECT_EQ(calls.load(), 3);

  // read_body_if false: the handler runs without the body.
  r = served.Client().Put("/gated", std::string(1000, 'b'), "application/octet-stream");
  ASSERT_TRUE(r);
  j = Parse(r->body);
  EXPECT_EQ(j["size"], 0);
  EXPECT_EQ(j["read"], false);
  EXPECT_EQ(r->get_header_value("Connection"), "close");
  r = served.Client().Put("/gated", {{"X-Ok", "yes"}}, std::string(1000, 'b'),
                          "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(Parse(r->body)["size"], 1000);

  // A method the path does not take.
  r = served.Client().Get("/small");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(Parse(r->body)["error"], "not_found");
}

TEST(HttpServer, StatusMapAndBadTls) {
  EXPECT_EQ(HttpErrorFor(absl::InvalidArgumentError("")).status, 400);
  EXPECT_EQ(HttpErrorFor(absl::OutOfRangeError("")).status, 400);
  EXPECT_EQ(HttpErrorFor(absl::PermissionDeniedError("")).status, 403);
  EXPECT_EQ(HttpErrorFor(absl::NotFoundError("")).status, 404);
  EXPECT_EQ(HttpErrorFor(absl::AlreadyExistsError("")).status, 409);
  EXPECT_EQ(HttpErrorFor(absl::ResourceExhaustedError("")).status, 413);
  EXPECT_EQ(HttpErrorFor(absl::UnavailableError("")).status, 503);
  EXPECT_STREQ(HttpErrorFor(absl::DataLossError("")).code, "data_loss");
  EXPECT_STREQ(HttpErrorFor(absl::InternalError("")).code, "internal");
  auto e = ErrorResponse(400, "bad_request", std::string("bad \xff byte"));
  EXPECT_TRUE(Parse(e.body).is_object()) << e.body;  // invalid UTF-8 replaced

  HttpServer tls(HttpServerOptions{"/nonexistent/cert.pem", "/nonexistent/key.pem"});
  EXPECT_FALSE(tls.valid());
  EXPECT_TRUE(tls.tls());
  EXPECT_FALSE(tls.Bind("127.0.0.1", 0).ok());

  std::string host;
  int port = 0;
  EXPECT_TRUE(SplitHostPort("[::1]:8443", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 8443);
  EXPECT_FALSE(SplitHostPort("nohost", &host, &port));
  EXPECT_FALSE(SplitHostPort("h:0", &host, &port, /*allow_zero=*/false));
  EXPECT_FALSE(SplitHostPort("h:70000", &host, &port));
}

}  // namespace
}  // namespace sealtrace::net
