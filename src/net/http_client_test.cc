// The HTTP client against the HTTP core, over real loopback sockets.
#include "net/http_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "net/http_server.h"

namespace sealtrace::net {
namespace {

TEST(HttpClient, SendsHeadersBodiesAndQueriesAndNamesAnUnreachableServer) {
  HttpServer s;
  s.AddRoute(Route::Make("POST", "/echo", 1 << 10, [](const HttpRequest& r) {
    return HttpResponse::Text(
        201, r.method + " " + r.Header("X-Test") + " " + r.body + " " + r.Header("Content-Type"));
  }));
  s.AddRoute(Route::Get("/q", [](const HttpRequest& r) {
    std::string out;
    for (const auto& [k, v] : r.query) out += k + "=" + v + ";";
    return HttpResponse::Text(200, out);
  }));
  s.AddRoute(Route::Get("/refuse", [](const HttpRequest&) {
    return ErrorResponse(403, "forbidden", "not yours", "contributor.not_own");
  }));
  auto port = s.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status();
  std::thread t([&] { EXPECT_TRUE(s.Serve().ok()); });
  const std::string base = "http://127.0.0.1:" + std::to_string(*port);

  for (bool keep_alive : {false, true}) {
    HttpClientOptions o;
    o.base_url = base + "/";  // a trailing slash is dropped
    o.keep_alive = keep_alive;
    HttpClient c(o);
    auto r = c.Send("POST", "/echo", {{"X-Test", "yes"}}, "hello", "text/plain");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->body, "POST yes hello text/plain");

    r = c.Send("GET", WithQuery("/q", {{"a", "1 2"}, {"empty", ""}, {"b", "x&y"}}), {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->body, "a=1 2;b=x&y;");

    r = c.Send("GET", "/refuse", {});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(DescribeErrorAnswer(*r), "HTTP 403: not yours [rule contributor.not_own]");
  }
  EXPECT_EQ(DescribeErrorAnswer({502, "<html>bad gateway</html>"}),
            "HTTP 502: <html>bad gateway</html>");
  s.Stop();
  t.join();

  // Nothing listens there any more: no answer is UNAVAILABLE naming the server.
  HttpClientOptions o;
  o.base_url = base;
  o.connect_timeout_s = 2;
  HttpClient gone(o);
  auto r = gone.Send("GET", "/q", {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(base), std::string::npos) << r.status();
}

TEST(HttpClient, PlainHttpOnlyToLoopback) {
  EXPECT_TRUE(IsLoopbackHttpUrl("http://127.0.0.1:8420"));
  EXPECT_TRUE(IsLoopbackHttpUrl("http://localhost/"));
  EXPECT_TRUE(IsLoopbackHttpUrl("http://[::1]:1"));
  EXPECT_FALSE(IsLoopbackHttpUrl("http://127.0.0.1.evil.example:80"));
  EXPECT_FALSE(IsLoopbackHttpUrl("http://vault.example:8420"));
  EXPECT_FALSE(IsLoopbackHttpUrl("https://127.0.0.1:8420"));
}

}  // namespace
}  // namespace sealtrace::net
