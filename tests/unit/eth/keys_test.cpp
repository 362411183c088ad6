// secp256k1 keys, addresses (EIP-55) and recoverable signatures, against ../shared/fixtures/eth/README.md
// (key -> address) and the EIP-55 examples.
#include "eth/keys.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "eth/hex.hpp"

namespace liveroom::eth {
namespace {

// Hardhat/Anvil public dev account #0 (README): never a real key.
constexpr const char* kDevKey = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

Hash hashOf(std::string_view hex) {
  const Bytes b = fromHex(hex);
  Hash h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

TEST(Keys, PrivateKeyToAddress) {
  const PrivateKey key = PrivateKey::fromHex(kDevKey);
  EXPECT_EQ(toHex(key.address()), "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(key.publicKey()[0], 0x04);
  std::string prefixed = "0x";
  prefixed.append(kDevKey).append("\n");  // as a key file may hold it
  EXPECT_EQ(PrivateKey::fromHex(prefixed).address(), key.address());
}

TEST(Keys, ChecksumAddressFollowsEip55) {
  EXPECT_EQ(checksumAddress(PrivateKey::fromHex(kDevKey).address()), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
  for (const char* good :
       {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    EXPECT_EQ(checksumAddress(parseAddress(good)), good);
  }
}

TEST(Keys, ParseAddressIsStrict) {
  EXPECT_EQ(toHex(parseAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")),
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_EQ(toHex(parseAddress("0xF39FD6E51AAD88F6F4CE6AB8827279CFFFB92266")),
            "f39fd6e51aad88f6f4ce6ab8827279cfffb92266");
  EXPECT_THROW(parseAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267"), std::invalid_argument);  // bad sum
  EXPECT_THROW(parseAddress("0xF39fd6e51aad88F6F4ce6aB8827279cffFb92266"), std::invalid_argument);  // bad sum
  EXPECT_THROW(parseAddress("f39fd6e51aad88f6f4ce6ab8827279cfffb92266"), std::invalid_argument);    // no 0x
  EXPECT_THROW(parseAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb922"), std::invalid_argument);    // short
  EXPECT_THROW(parseAddress("0xf39fd6e51aad88f6f4ce6ab8827279cfffb9226g"), std::invalid_argument);  // not hex
}

TEST(Keys, InvalidPrivateKeysAreRefusedWithoutQuotingThem) {
  const std::string zero(64, '0');
  const std::string order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
  const std::string secretish = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff";  // 31 bytes
  for (const std::string& bad : {zero, order, secretish, secretish + "zz", std::string()}) {
    try {
      PrivateKey::fromHex(bad);
      ADD_FAILURE() << "accepted an invalid key";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find("ac0974"), std::string::npos) << what;
      EXPECT_EQ(what.find("ffffffff"), std::string::npos) << what;
    }
  }
}

TEST(Keys, SignThenRecoverGivesTheSigner) {
  const PrivateKey key = PrivateKey::fromHex(kDevKey);
  const Hash hash = keccak256("liveroom");
  const Signature sig = sign(hash, key);
  EXPECT_LE(sig.recovery_id, 1);
  EXPECT_EQ(recover(hash, sig), key.address());
  EXPECT_EQ(sign(hash, key).r, sig.r);  // deterministic (RFC 6979)

  Signature wrong_parity = sig;
  wrong_parity.recovery_id ^= 1;
  EXPECT_NE(recover(hash, wrong_parity), key.address());
}

TEST(Keys, RecoverRefusesInvalidSignatures) {
  const PrivateKey key = PrivateKey::fromHex(kDevKey);
  const Hash hash = keccak256("liveroom");
  const Signature sig = sign(hash, key);

  Signature bad = sig;
  bad.recovery_id = 2;
  EXPECT_THROW(recover(hash, bad), std::invalid_argument);

  bad = sig;
  bad.r = Hash{};
  EXPECT_THROW(recover(hash, bad), std::invalid_argument);

  bad = sig;
  bad.s = Hash{};
  EXPECT_THROW(recover(hash, bad), std::invalid_argument);

  // s' = n - s is the same signature's malleable twin: refused (EIP-2).
  bad = sig;
  bad.s = hashOf("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");  // n - 1
  EXPECT_THROW(recover(hash, bad), std::invalid_argument);

  bad = sig;
  bad.r.fill(0xff);  // above the field size
  EXPECT_THROW(recover(hash, bad), std::invalid_argument);
}

TEST(Keys, SigningFromSeveralThreads) {
  const PrivateKey key = PrivateKey::fromHex(kDevKey);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (size_t t = 0; t < ok.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const Hash h = keccak256(std::to_string(t * 1000 + static_cast<size_t>(i)));
        if (recover(h, sign(h, key)) == key.address()) ++ok[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const int n : ok) EXPECT_EQ(n, 50);
}

}  // namespace
}  // namespace liveroom::eth
