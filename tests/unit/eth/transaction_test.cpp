// Legacy EIP-155 and EIP-1559 transactions against ../shared/fixtures/eth: the EIP-155 example, the
// ethereum/tests ttEIP1559 vector (hash + sender) and every ethereumjs eip1559-signing.json case.
#include "eth/transaction.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "eth/hex.hpp"
#include "support/fixtures.hpp"

namespace liveroom::eth {
namespace {

constexpr const char* kTtEip1559 =
    "02f885018084773594009f02ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff82520894095e7baea6a6c7c4"
    "c2dfeb977efac326af552d878080c080a05cbd172231fc0735e0fb994dd5b1a4939170a260b36f0427a8a80866b063b948a07c230f7f"
    "578dd61785c93361b9871c0706ebfa6d06e3f4491dc9558c5202ed36";

// The raw 0x02... transaction inside an eip1559-signing.json signedTransactionRLP (an RLP string b8 <len> ...).
Bytes unwrapSigned(const std::string& wrapped_hex) {
  const rlp::Item wrapped = rlp::decode(fromHex(wrapped_hex));
  if (wrapped.is_list) throw std::invalid_argument("expected an RLP string");
  return wrapped.bytes;
}

TEST(Transaction, Eip155ExampleFromTheEip) {
  LegacyTransaction tx;
  tx.nonce = 9;
  tx.gas_price = U256(20'000'000'000);
  tx.gas_limit = 21000;
  tx.to = parseAddress("0x3535353535353535353535353535353535353535");
  tx.value = U256::fromDecimal("1000000000000000000");
  tx.chain_id = 1;
  EXPECT_EQ(toHex(signingHash(tx)), "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  const PrivateKey key = PrivateKey::fromBytes(Bytes(32, 0x46));
  EXPECT_EQ(toHex(signRaw(tx, key)),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd9"
            "39bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b"
            "297fb1966a3b6d83");
}

TEST(Transaction, TtEip1559VectorHashAndSender) {
  const Bytes raw = fromHex(kTtEip1559);
  const SignedEip1559Transaction signed_tx = decodeEip1559(raw);
  EXPECT_EQ(signed_tx.tx.chain_id, 1u);
  EXPECT_EQ(signed_tx.tx.nonce, 0u);
  EXPECT_EQ(signed_tx.tx.gas_limit, 21000u);
  EXPECT_EQ(signed_tx.tx.max_fee_per_gas.minimalBytes().size(), 31u);
  EXPECT_TRUE(signed_tx.tx.access_list.empty());
  EXPECT_EQ(signed_tx.raw(), raw);
  EXPECT_EQ(toHex(signed_tx.hash()), "dad8bff3ecfcf95169b1d5625b47f3372be795802bc4fe570991cf332f609334");
  EXPECT_EQ(toHex(signed_tx.sender()), "ae2aec498d20869d441eaaf708fb1e375ae1787d");
}

TEST(Transaction, Eip1559SigningVectors) {
  const auto cases = nlohmann::json::parse(test_support::readFixture("eth/eip1559-signing.json"));
  ASSERT_EQ(cases.size(), 10u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["signedTransactionRLP"].get<std::string>());
    Eip1559Transaction tx;
    tx.chain_id = c["chainId"].get<uint64_t>();
    tx.nonce = c["nonce"].get<uint64_t>();
    tx.max_priority_fee_per_gas = U256(c["maxInclusionFeePerGas"].get<uint64_t>());
    tx.max_fee_per_gas = U256(c["maxFeePerGas"].get<uint64_t>());
    tx.gas_limit = c["gasLimit"].get<uint64_t>();
    tx.to = parseAddress(c["to"].get<std::string>());
    tx.value = U256(c["value"].get<uint64_t>());
    const PrivateKey key = PrivateKey::fromHex(c["privateKey"].get<std::string>());
    const Bytes expected = unwrapSigned(c["signedTransactionRLP"].get<std::string>());

    const SignedEip1559Transaction signed_tx = sign(tx, key);
    EXPECT_EQ(toHex(signed_tx.raw()), toHex(expected));
    EXPECT_EQ(signed_tx.hash(), keccak256(expected));

    const SignedEip1559Transaction decoded = decodeEip1559(expected);
    EXPECT_EQ(decoded.tx, tx);
    EXPECT_EQ(decoded.sender(), key.address());
  }
}

TEST(Transaction, ContractCreationAndAccessListRoundTrip) {
  Eip1559Transaction tx;
  tx.chain_id = 31337;
  tx.nonce = 3;
  tx.max_priority_fee_per_gas = U256(1'000'000'000);
  tx.max_fee_per_gas = U256(3'000'000'000);
  tx.gas_limit = 500000;
  tx.value = U256::fromDecimal("115792089237316195423570985008687907853269984665640564039457584007913129639935");
  tx.data = fromHex("6080604052");
  AccessListEntry entry;
  entry.address = parseAddress("0x000000000000000000000000000000000000aaaa");
  entry.storage_keys.push_back(keccak256("slot"));
  tx.access_list.push_back(entry);
  const PrivateKey key = PrivateKey::fromHex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

  const SignedEip1559Transaction signed_tx = sign(tx, key);
  const Bytes raw = signed_tx.raw();
  const SignedEip1559Transaction decoded = decodeEip1559(raw);
  EXPECT_FALSE(decoded.tx.to.has_value());
  EXPECT_EQ(decoded.tx, tx);
  EXPECT_EQ(decoded.raw(), raw);
  EXPECT_EQ(decoded.sender(), key.address());
}

TEST(Transaction, EmptyAccessListIsAnEmptyRlpList) {
  Eip1559Transaction tx;
  tx.to = parseAddress("0x000000000000000000000000000000000000aaaa");
  const PrivateKey key = PrivateKey::fromBytes(Bytes(32, 0x46));
  const Bytes raw = sign(tx, key).raw();
  const rlp::Item item = rlp::decode(std::span<const uint8_t>(raw).subspan(1));
  ASSERT_EQ(item.items.size(), 12u);
  EXPECT_EQ(item.items[8], rlp::Item::list({}));
  EXPECT_EQ(rlp::encode(item.items[8]), Bytes{0xc0});
}

TEST(Transaction, MalformedRawTransactionsAreRefused) {
  const Bytes good = fromHex(kTtEip1559);
  EXPECT_THROW(decodeEip1559(Bytes{}), DecodeError);
  EXPECT_THROW(decodeEip1559(Bytes{0x02}), DecodeError);
  Bytes legacy_type = good;
  legacy_type[0] = 0x01;
  EXPECT_THROW(decodeEip1559(legacy_type), DecodeError);
  for (size_t cut = 1; cut < good.size(); ++cut) {  // every truncation
    EXPECT_THROW(decodeEip1559(std::span<const uint8_t>(good).first(cut)), DecodeError) << cut;
  }
  Bytes trailing = good;
  trailing.push_back(0x00);
  EXPECT_THROW(decodeEip1559(trailing), DecodeError);

  // Re-encode the 12 fields with one of them altered.
  const rlp::Item item = rlp::decode(std::span<const uint8_t>(good).subspan(1));
  auto with = [&](size_t index, rlp::Item field) {
    rlp::Item copy = item;
    copy.items[index] = std::move(field);
    Bytes out{0x02};
    const Bytes body = rlp::encode(copy);
    out.insert(out.end(), body.begin(), body.end());
    return out;
  };
  EXPECT_THROW(decodeEip1559(with(9, rlp::Item::string({0x02}))), DecodeError);            // yParity 2
  EXPECT_THROW(decodeEip1559(with(1, rlp::Item::string({0x00, 0x01}))), DecodeError);      // leading zero
  EXPECT_THROW(decodeEip1559(with(5, rlp::Item::string(Bytes(19, 0x11)))), DecodeError);   // 19-byte to
  EXPECT_THROW(decodeEip1559(with(8, rlp::Item::string({}))), DecodeError);                // access list not a list
  EXPECT_THROW(decodeEip1559(with(7, rlp::Item::list({}))), DecodeError);                  // data not a string
  EXPECT_THROW(decodeEip1559(with(10, rlp::Item::string(Bytes(33, 0x11)))), DecodeError);  // r > 256 bits
  rlp::Item short_list = item;
  short_list.items.pop_back();
  Bytes eleven{0x02};
  const Bytes body = rlp::encode(short_list);
  eleven.insert(eleven.end(), body.begin(), body.end());
  EXPECT_THROW(decodeEip1559(eleven), DecodeError);

  // A well-formed transaction with a bad signature decodes, and sender() refuses it.
  EXPECT_THROW(decodeEip1559(with(10, rlp::Item::string({}))).sender(), std::invalid_argument);
}

}  // namespace
}  // namespace liveroom::eth
