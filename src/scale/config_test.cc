#include "scale/config.h"

#include <gtest/gtest.h>

#include <string>

#include "common/env.h"

namespace sealtrace::scale {
namespace {

TEST(ScaleConfigTest, ShippedExampleParses) {
  const char* src = getenv("SEALTRACE_SOURCE_DIR");
  ASSERT_NE(src, nullptr);
  auto text = Env::Default()->ReadFile(std::string(src) + "/config/scale.example.toml");
  ASSERT_TRUE(text.ok()) << text.status();
  auto c = ParseScaleConfig(*text);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->metadata.backend, "postgres");
  EXPECT_EQ(c->nats.urls.size(), 3u);
  EXPECT_EQ(c->nats.replicas, 3);
  EXPECT_EQ(c->gateway.inline_max_bytes, 262144u);
  EXPECT_EQ(c->writer.threads, 2);
  EXPECT_EQ(c->roles, std::vector<std::string>{"ingest"});
}

TEST(ScaleConfigTest, RefusesTyposWrongTypesAndBadValues) {
  const std::string base = "[metadata]\nbackend = \"postgres\"\npostgres = \"dbname=x\"\n";
  ASSERT_TRUE(ParseScaleConfig(base).ok());
  auto typo = ParseScaleConfig(base + "[nats]\nreplica = 3\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("nats.replica"), std::string::npos);
  EXPECT_FALSE(ParseScaleConfig(base + "[nats]\nreplicas = \"3\"\n").ok());
  EXPECT_FALSE(ParseScaleConfig(base + "[nats]\nreplicas = 0\n").ok());
  EXPECT_FALSE(ParseScaleConfig("roles = [\"reader\"]\n" + base).ok());
  EXPECT_TRUE(ParseScaleConfig("roles = [\"ingest\", \"writer\"]\n" + base).ok());
  EXPECT_FALSE(ParseScaleConfig("[metadata]\nbackend = \"mysql\"\n").ok());
  EXPECT_FALSE(ParseScaleConfig("[metadata]\nbackend = \"postgres\"\n").ok());  // no conninfo
  EXPECT_FALSE(ParseScaleConfig(base + "[gateway]\ninline_max_bytes = 2000000\n").ok());
  EXPECT_FALSE(ParseScaleConfig("this is = = not toml").ok());
  EXPECT_FALSE(ParseScaleConfig(base + "bogus = 1\n").ok());
}

TEST(ScaleConfigTest, GatewayEnrolmentReadsTheHsmSettings) {
  const std::string base = "[metadata]\nbackend = \"postgres\"\npostgres = \"dbname=x\"\n";
  auto c = ParseScaleConfig(base +
                            "[gateway]\nenroll = true\nhsm_module = \"/usr/lib/p11.so\"\n"
                            "hsm_token = \"vault\"\nhsm_pin_file = \"/etc/sealtrace/pin\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->gateway.hsm_module, "/usr/lib/p11.so");
  EXPECT_EQ(c->gateway.hsm_token, "vault");
  EXPECT_EQ(c->gateway.hsm_pin_file, "/etc/sealtrace/pin");
  EXPECT_FALSE(ParseScaleConfig(base + "[gateway]\nhsm_pin = \"1234\"\n").ok());
}

}  // namespace
}  // namespace sealtrace::scale
