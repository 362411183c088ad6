// Cloudflare settings resolution: defaults and every half-set combination.
#include "app/config.hpp"

#include <gtest/gtest.h>

#include <map>

namespace liveroom::app {
namespace {

struct Env {
  std::map<std::string, std::string> vars;
  std::function<const char*(const char*)> fn() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

std::string errorOf(ServeConfig& c, const Env& env) {
  try {
    resolveStream(c, env.fn());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "ok";
}

TEST(Config, NoCloudflareMeansLocal) {
  ServeConfig c;
  EXPECT_EQ(errorOf(c, Env{}), "ok");
  EXPECT_EQ(c.stream, "local");
  EXPECT_FALSE(c.cloudflare);
}

TEST(Config, AccountIdSelectsCloudflareWithToken) {
  ServeConfig c;
  Env env{
      {{"CLOUDFLARE_ACCOUNT_ID", "acc"}, {"CLOUDFLARE_API_TOKEN", "tok"}, {"CLOUDFLARE_API_BASE", "http://h:1/v4/"}}};
  EXPECT_EQ(errorOf(c, env), "ok");
  EXPECT_EQ(c.stream, "cloudflare");
  ASSERT_TRUE(c.cloudflare);
  EXPECT_EQ(c.cloudflare->account_id, "acc");
  EXPECT_EQ(c.cloudflare->api_token, "tok");
  EXPECT_EQ(c.cloudflare->api_base, "http://h:1/v4");
}

TEST(Config, LegacyAuth) {
  ServeConfig c;
  Env env{{{"CLOUDFLARE_ACCOUNT_ID", "acc"}, {"CLOUDFLARE_EMAIL", "a@b"}, {"CLOUDFLARE_API_KEY", "k"}}};
  EXPECT_EQ(errorOf(c, env), "ok");
  EXPECT_EQ(c.cloudflare->email, "a@b");
  EXPECT_EQ(c.cloudflare->api_key, "k");
  EXPECT_FALSE(c.cloudflare->api_token);
}

TEST(Config, HalfSetCredentialsNameTheMissingVariable) {
  ServeConfig c1;
  EXPECT_NE(errorOf(c1, Env{{{"CLOUDFLARE_ACCOUNT_ID", "acc"}}}).find("CLOUDFLARE_API_TOKEN"), std::string::npos);
  ServeConfig c2;
  EXPECT_NE(
      errorOf(c2, Env{{{"CLOUDFLARE_ACCOUNT_ID", "acc"}, {"CLOUDFLARE_EMAIL", "a@b"}}}).find("CLOUDFLARE_API_KEY"),
      std::string::npos);
  ServeConfig c3;
  EXPECT_NE(errorOf(c3, Env{{{"CLOUDFLARE_API_TOKEN", "tok"}}}).find("CLOUDFLARE_ACCOUNT_ID"), std::string::npos);
  ServeConfig c4;
  c4.stream = "cloudflare";
  EXPECT_NE(errorOf(c4, Env{}).find("CLOUDFLARE_ACCOUNT_ID"), std::string::npos);
  ServeConfig c5;
  EXPECT_NE(
      errorOf(c5,
              Env{{{"CLOUDFLARE_ACCOUNT_ID", "a"}, {"CLOUDFLARE_API_TOKEN", "t"}, {"CLOUDFLARE_API_BASE", "ftp://x"}}})
          .find("CLOUDFLARE_API_BASE"),
      std::string::npos);
}

TEST(Config, ExplicitLocalWinsOverAccount) {
  ServeConfig c;
  c.stream = "local";
  EXPECT_EQ(errorOf(c, Env{{{"CLOUDFLARE_ACCOUNT_ID", "acc"}, {"CLOUDFLARE_API_TOKEN", "tok"}}}), "ok");
  EXPECT_EQ(c.stream, "local");
}

TEST(Config, ConnectionLimitsFollowTheDescriptorLimit) {
  ConnectionLimits small = connectionLimits(0, 0, 256);
  EXPECT_EQ(small.total, 128u);
  EXPECT_EQ(small.per_address, 16u);
  ConnectionLimits usual = connectionLimits(0, 0, 1024);
  EXPECT_EQ(usual.total, 896u);
  EXPECT_EQ(usual.per_address, 112u);
  ConnectionLimits large = connectionLimits(0, 0, 1'048'576);
  EXPECT_EQ(large.total, 10000u);
  EXPECT_EQ(large.per_address, 1250u);
  ConnectionLimits tiny = connectionLimits(0, 0, 20);
  EXPECT_EQ(tiny.total, 16u);
  ConnectionLimits given = connectionLimits(50, 500, 1024);
  EXPECT_EQ(given.total, 50u);
  EXPECT_EQ(given.per_address, 50u);  // never above the total
}

}  // namespace
}  // namespace liveroom::app
