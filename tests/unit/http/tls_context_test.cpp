// HTTPS contexts from PEM files and the self-signed certificate kept in the data dir.
#include "http/tls_context.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace liveroom::http {
namespace {

namespace fs = std::filesystem;

class TlsContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("liveroom_tls_test_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  static std::string errorOf(const std::function<void()>& f) {
    try {
      f();
    } catch (const TlsConfigError& e) {
      return e.what();
    }
    return "ok";
  }
  fs::path dir_;
};

TEST_F(TlsContextTest, SelfSignedIsMadeOnceAndRemadeForNewNames) {
  const SelfSignedFiles first = selfSignedCertificate(dir_, {"localhost", "127.0.0.1"});
  struct stat st {};
  ASSERT_EQ(::stat(first.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NO_THROW(tlsContextFromFiles(first.cert.string(), first.key.string()));
  const std::string cert = read(first.cert);
  selfSignedCertificate(dir_, {"localhost", "127.0.0.1"});
  EXPECT_EQ(read(first.cert), cert);  // reused: a browser's exception still holds
  selfSignedCertificate(dir_, {"localhost", "127.0.0.1", "192.168.1.5", "lop.local"});
  EXPECT_NE(read(first.cert), cert);  // a new name: a new certificate
  EXPECT_NE(errorOf([&] { selfSignedCertificate(dir_, {}); }), "ok");
}

TEST_F(TlsContextTest, BadFilesNameTheFlag) {
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const SelfSignedFiles good = selfSignedCertificate(dir_ / "a", {"localhost"});
  const SelfSignedFiles other = selfSignedCertificate(dir_ / "b", {"localhost"});
  std::ofstream(dir_ / "junk.pem") << "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  EXPECT_NE(errorOf([&] { tlsContextFromFiles((dir_ / "none.crt").string(), good.key.string()); }).find("--tls-cert"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { tlsContextFromFiles(good.cert.string(), (dir_ / "none.key").string()); }).find("--tls-key"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { tlsContextFromFiles((dir_ / "junk.pem").string(), good.key.string()); }).find("--tls-cert"),
            std::string::npos);
  EXPECT_NE(errorOf([&] { tlsContextFromFiles(good.cert.string(), (dir_ / "junk.pem").string()); }).find("--tls-key"),
            std::string::npos);
  const std::string mismatch = errorOf([&] { tlsContextFromFiles(good.cert.string(), other.key.string()); });
  EXPECT_NE(mismatch.find("does not match"), std::string::npos) << mismatch;
  EXPECT_EQ(mismatch.find("PRIVATE KEY"), std::string::npos);  // no key material in messages
}

}  // namespace
}  // namespace liveroom::http
