#include "relay/relay_config.h"
#include "relay/http_auth.h"

#include <gtest/gtest.h>

#include <fstream>

namespace wzp::relay {
namespace {

std::string write(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "wzp-relay-" + name + ".toml";
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& text) {
  RelayOptions o;
  try {
    load_relay_config(write("bad", text), o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(RelayConfig, EverySettingAndAccessLists) {
  RelayOptions o;
  load_relay_config(write("good", R"(
listen = "127.0.0.1:5000"
state_dir = "/tmp/x"
metrics_listen = "off"
max_sessions = 50
max_participants = 8
max_packet_rate = 250
packet_burst = 500.5
log_format = "json"
log_level = "warn"
redis = "10.0.0.5:6379"
advertise = "relay-1.example:4433"
redis_user = "relay"
redis_password_file = "/etc/wzp/redis-password"
[acl]
ops = ["aaaa:bbbb", "cccc:dddd"]
)"),
                    o);
  EXPECT_EQ(o.listen, "127.0.0.1:5000");
  EXPECT_EQ(o.state_dir, "/tmp/x");
  EXPECT_EQ(o.metrics_listen, "off");
  EXPECT_EQ(o.max_sessions, 50u);
  EXPECT_EQ(o.max_participants, 8u);
  EXPECT_DOUBLE_EQ(o.max_packet_rate, 250);
  EXPECT_DOUBLE_EQ(o.packet_burst, 500.5);
  EXPECT_EQ(o.log_format, "json");
  EXPECT_EQ(o.log_level, "warn");
  EXPECT_EQ(o.redis, "10.0.0.5:6379");
  EXPECT_EQ(o.advertise, "relay-1.example:4433");
  EXPECT_EQ(o.redis_user, "relay");
  EXPECT_EQ(o.redis_password_file, "/etc/wzp/redis-password");
  ASSERT_EQ(o.acl.count("ops"), 1u);
  EXPECT_EQ(o.acl["ops"], (std::set<std::string>{"aaaa:bbbb", "cccc:dddd"}));
}

TEST(RelayConfig, BadFilesNameTheKeyAndTheProblem) {
  EXPECT_NE(error_of("listen = 5").find("listen: must be a string"), std::string::npos);
  EXPECT_NE(error_of("max_sessions = 0").find("max_sessions: must be between 1"),
            std::string::npos);
  EXPECT_NE(error_of("max_sessions = 1.5").find("max_sessions: must be a whole number"),
            std::string::npos);
  EXPECT_NE(error_of("lisen = \"x\"").find("lisen: unknown setting"), std::string::npos);
  EXPECT_NE(error_of("log_level = \"loud\"").find("log_level: must be \"debug\""),
            std::string::npos);
  EXPECT_NE(error_of("log_format = \"xml\"").find("log_format: must be \"text\" or \"json\""),
            std::string::npos);
  EXPECT_NE(error_of("[acl]\nops = \"x\"").find("acl.ops: must be an array"), std::string::npos);
  EXPECT_NE(error_of("listen = \"x").find("line 1"), std::string::npos);
  RelayOptions o;
  EXPECT_THROW(load_relay_config("/nonexistent/wzp.toml", o), std::runtime_error);
}

TEST(RelayConfig, AuthUrlsAreParsedStrictly) {
  std::string error;
  auto u = parse_http_url("http://auth.example:8081/v1/validate", &error);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "auth.example");
  EXPECT_EQ(u->port, "8081");
  EXPECT_EQ(u->target, "/v1/validate");
  u = parse_http_url("http://[::1]/x", &error);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "80");
  EXPECT_FALSE(parse_http_url("https://auth.example/validate", &error));
  EXPECT_NE(error.find("only http://"), std::string::npos);
  EXPECT_FALSE(parse_http_url("http://host:80x/", &error));
}

}  // namespace
}  // namespace wzp::relay
