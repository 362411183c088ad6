// ABI codec: the vectors of ../shared/fixtures/eth/README.md (Solidity docs examples, selectors,
// topics), round trips of nested dynamic types, strict padding checks, revert data, events, and
// hostile inputs (truncations, byte flips, bad offsets and lengths) that must throw, never crash.
#include "eth/abi.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace liveroom::eth::abi {
namespace {

std::string hex(std::span<const uint8_t> b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Bytes unhex(std::string_view s) {
  auto nib = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  Bytes out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(nib(s[i]) << 4 | nib(s[i + 1])));
  return out;
}

// A 32-byte word in hex: `v` right-aligned (numbers) or left-aligned (bytes).
std::string right(std::string_view v) { return std::string(64 - v.size(), '0') + std::string(v); }
std::string left(std::string_view v) { return std::string(v) + std::string(64 - v.size(), '0'); }

Bytes strBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::vector<Type> types(std::string_view list) { return parseTypeList(list); }

TEST(AbiSelector, FixtureVectors) {
  EXPECT_EQ(hex(selector("transfer(address,uint256)")), "a9059cbb");
  EXPECT_EQ(hex(selector("baz(uint32,bool)")), "cdcd77c0");
  EXPECT_EQ(hex(selector("Error(string)")), "08c379a0");
  EXPECT_EQ(hex(selector("Panic(uint256)")), "4e487b71");
  EXPECT_EQ(hex(eventTopic("Transfer(address,address,uint256)")),
            "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef");
  // Aliases are canonicalised before hashing.
  EXPECT_EQ(hex(selector("transfer(address,uint)")), "a9059cbb");
  EXPECT_EQ(Signature::parse("f(uint,int[],(uint,bytes)[2])").canonical(), "f(uint256,int256[],(uint256,bytes)[2])");
}

TEST(AbiSelector, RejectsMalformedSignatures) {
  for (const char* s : {"", "f", "(uint256)", "f(uint256", "f(uint256))", "f(uint256,)", "f (uint256)", "f(uint256 a)",
                        "1f()", "f(uint 256)"}) {
    EXPECT_THROW(selector(s), TypeError) << s;
  }
}

TEST(AbiType, ParsesAndPrintsCanonicalTypes) {
  for (const char* s : {"uint8", "uint256", "int24", "address", "bool", "bytes1", "bytes32", "bytes", "string",
                        "uint32[]", "bytes10[3]", "(address,uint8)", "(string,uint8)[]", "uint8[2][]", "string[][3]",
                        "((bytes32,(string,bool[]))[],int256)"}) {
    EXPECT_EQ(Type::parse(s).canonical(), s);
  }
  EXPECT_EQ(Type::parse("uint").canonical(), "uint256");
  EXPECT_EQ(Type::parse("int[2]").canonical(), "int256[2]");
  EXPECT_TRUE(Type::parse("uint8[2][]").isDynamic());
  EXPECT_FALSE(Type::parse("(uint8,bytes3)[4]").isDynamic());
  EXPECT_EQ(Type::parse("(uint8,bytes3)[4]").headSize(), 256u);
  EXPECT_EQ(Type::parse("(uint8,string)[4]").headSize(), 32u);
}

TEST(AbiType, RejectsInvalidTypes) {
  for (const char* s : {"",
                        "uint7",
                        "uint0",
                        "uint264",
                        "uint08",
                        "int4",
                        "bytes0",
                        "bytes33",
                        "bytes01",
                        "()",
                        "uint8[0]",
                        "uint8[",
                        "uint8[]]",
                        "uint8[-1]",
                        "(uint8",
                        "(uint8,)",
                        "address payable",
                        "tuple",
                        "function",
                        "fixed128x18",
                        "uint256[99999999]",
                        "uint256[1048576][1048576]"}) {
    EXPECT_THROW(Type::parse(s), TypeError) << s;
  }
  std::string deep = "uint8";
  for (int i = 0; i < 40; ++i) deep = "(" + deep + ")";
  EXPECT_THROW(Type::parse(deep), TypeError);
  std::string deep_array = "uint8";
  for (int i = 0; i < 40; ++i) deep_array += "[]";
  EXPECT_THROW(Type::parse(deep_array), TypeError);
  std::string long_tuple = "(";
  for (int i = 0; i < 10; ++i) long_tuple += "uint256[1048576][64],";
  long_tuple.back() = ')';
  EXPECT_THROW(Type::parse(long_tuple), TypeError);
}

TEST(AbiEncode, SolidityDocsBaz) {
  Bytes call = encodeCall("baz(uint32,bool)", {Value::ofUint(69), Value::ofBool(true)});
  EXPECT_EQ(hex(call), "cdcd77c0" + right("45") + right("01"));
  auto back = decode("uint32,bool", std::span<const uint8_t>(call).subspan(4));
  EXPECT_EQ(back[0].toUint64(), 69u);
  EXPECT_TRUE(back[1].toBool());
}

TEST(AbiEncode, SolidityDocsDynamicExample) {
  std::string_view ten = "1234567890";
  Bytes call = encodeCall("f(uint256,uint32[],bytes10,bytes)",
                          {Value::ofUint(0x123), Value::ofArray({Value::ofUint(0x456), Value::ofUint(0x789)}),
                           Value::ofFixedBytes(strBytes(ten)), Value::ofBytes(strBytes("Hello, world!"))});
  std::string expected = "8be65246" + right("123") + right("80") + left("31323334353637383930") + right("e0") +
                         right("2") + right("456") + right("789") + right("d") + left("48656c6c6f2c20776f726c6421");
  EXPECT_EQ(hex(call), expected);

  auto back = decode("uint256,uint32[],bytes10,bytes", std::span<const uint8_t>(call).subspan(4));
  ASSERT_EQ(back.size(), 4u);
  EXPECT_EQ(back[0].toUint64(), 0x123u);
  ASSERT_EQ(back[1].items().size(), 2u);
  EXPECT_EQ(back[1].items()[1].toUint64(), 0x789u);
  EXPECT_EQ(back[2].bytes(), strBytes(ten));
  EXPECT_EQ(back[3].bytes(), strBytes("Hello, world!"));
}

// The room registry's createRoom: three strings (one UTF-8) after static heads. Expected
// bytes produced by ethers 6.17 AbiCoder (Interface.encodeFunctionData) for the same values.
TEST(AbiEncode, CrossCheckedWithEthers) {
  Address host{};
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(0xa0 + i);
  Bytes call = encodeCall("createRoom(bytes32,address,bytes16,string,string,string)",
                          {Value::ofFixedBytes(Bytes(32, 0x42)), Value::ofAddress(host),
                           Value::ofFixedBytes(Bytes(16, 0x07)), Value::ofString("Lớp học online"), Value::ofString(""),
                           Value::ofString("meta meta meta meta meta meta meta meta meta")});
  std::string expected =
      "9ce2358b"
      "4242424242424242424242424242424242424242424242424242424242424242"
      "000000000000000000000000a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3"
      "0707070707070707070707070707070700000000000000000000000000000000"
      "00000000000000000000000000000000000000000000000000000000000000c0"
      "0000000000000000000000000000000000000000000000000000000000000100"
      "0000000000000000000000000000000000000000000000000000000000000120"
      "0000000000000000000000000000000000000000000000000000000000000012"
      "4ce1bb9b702068e1bb8d63206f6e6c696e650000000000000000000000000000"
      "0000000000000000000000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000000000000000002c"
      "6d657461206d657461206d657461206d657461206d657461206d657461206d65"
      "7461206d657461206d6574610000000000000000000000000000000000000000";
  EXPECT_EQ(hex(call), expected);
}

// getRoom returns a static struct: encoded in place, identical to the flat list of its members.
TEST(AbiDecode, StaticStructReturn) {
  Address host{};
  host[0] = 0xf3;
  std::vector<Value> members = {Value::ofAddress(host), Value::ofUint(1), Value::ofUint(1700000000), Value::ofUint(0),
                                Value::ofFixedBytes(Bytes(16, 0x07))};
  Bytes flat = encode(types("address,uint8,uint64,uint64,bytes16"), members);
  auto v = decode("(address,uint8,uint64,uint64,bytes16)", flat);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], Value::ofTuple(members));
  EXPECT_EQ(v[0].items()[4].bytes(), Bytes(16, 0x07));
  flat[32 * 4 + 16] = 1;  // bytes16 padding
  EXPECT_THROW(decode("(address,uint8,uint64,uint64,bytes16)", flat), DecodeError);
}

TEST(AbiEncode, RejectsValuesThatDoNotFit) {
  EXPECT_THROW(encode(types("uint8"), {Value::ofUint(256)}), EncodeError);
  EXPECT_NO_THROW(encode(types("uint8"), {Value::ofUint(255)}));
  EXPECT_THROW(encode(types("int8"), {Value::ofInt(128)}), EncodeError);
  EXPECT_THROW(encode(types("int8"), {Value::ofInt(-129)}), EncodeError);
  EXPECT_NO_THROW(encode(types("int8"), {Value::ofInt(-128)}));
  EXPECT_THROW(encode(types("uint256"), {Value::ofInt(1)}), EncodeError);
  EXPECT_THROW(encode(types("string"), {Value::ofBytes(strBytes("x"))}), EncodeError);
  EXPECT_THROW(encode(types("bytes4"), {Value::ofFixedBytes(strBytes("abc"))}), EncodeError);
  EXPECT_THROW(encode(types("uint8[2]"), {Value::ofArray({Value::ofUint(1)})}), EncodeError);
  EXPECT_THROW(encode(types("(uint8,bool)"), {Value::ofTuple({Value::ofUint(1)})}), EncodeError);
  EXPECT_THROW(encode(types("uint8,bool"), {Value::ofUint(1)}), EncodeError);
  EXPECT_THROW(Value::ofFixedBytes(Bytes(33, 1)), EncodeError);
  EXPECT_THROW(Value::ofFixedBytes(Bytes{}), EncodeError);
}

TEST(AbiEncode, NegativeIntsAreSignExtended) {
  Bytes enc = encode(types("int8,int256"), {Value::ofInt(-1), Value::ofInt(-2)});
  EXPECT_EQ(hex(enc), std::string(64, 'f') + std::string(63, 'f') + "e");
  auto back = decode(types("int8,int256"), enc);
  EXPECT_EQ(back[0].toInt64(), -1);
  EXPECT_EQ(back[1].toInt64(), -2);
}

// A set of (type list, values) covering nested dynamic types, used by the round-trip and the
// hostile-input tests.
struct Case {
  std::string types;
  std::vector<Value> values;
};

std::vector<Case> cases() {
  Address host{};
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(0xa0 + i);
  Bytes id(32, 0x42);
  Word big{};
  big.fill(0xff);
  auto s = [](std::string_view v) { return Value::ofString(v); };
  return {
      {"bytes32,address,bytes32,string",
       {Value::ofFixedBytes(id), Value::ofAddress(host), Value::ofFixedBytes(id), s("Friday night jazz")}},
      {"address,uint8,uint64,uint64,bytes32",
       {Value::ofAddress(host), Value::ofUint(2), Value::ofUint(1700000000), Value::ofUint(0),
        Value::ofFixedBytes(id)}},
      {"(string,uint8)[]",
       {Value::ofArray({Value::ofTuple({s("a"), Value::ofUint(1)}),
                        Value::ofTuple({s(std::string(40, 'b')), Value::ofUint(2)}),
                        Value::ofTuple({s(""), Value::ofUint(3)})})}},
      {"string[2],bytes[][]",
       {Value::ofArray({s("x"), s("yy")}),
        Value::ofArray({Value::ofArray({Value::ofBytes(Bytes(33, 7))}), Value::ofArray({}),
                        Value::ofArray({Value::ofBytes({}), Value::ofBytes(Bytes{1, 2})})})}},
      {"(uint256,(string,bytes)[],bool)[2],int16",
       {Value::ofArray({Value::ofTuple({Value::ofUintWord(big),
                                        Value::ofArray({Value::ofTuple({s("t"), Value::ofBytes(Bytes(64, 9))})}),
                                        Value::ofBool(false)}),
                        Value::ofTuple({Value::ofUint(0), Value::ofArray({}), Value::ofBool(true)})}),
        Value::ofInt(-300)}},
      {"uint8[2][],(address,bytes3)[2]",
       {Value::ofArray({Value::ofArray({Value::ofUint(1), Value::ofUint(2)}),
                        Value::ofArray({Value::ofUint(3), Value::ofUint(4)})}),
        Value::ofArray({Value::ofTuple({Value::ofAddress(host), Value::ofFixedBytes(Bytes{1, 2, 3})}),
                        Value::ofTuple({Value::ofAddress(host), Value::ofFixedBytes(Bytes{4, 5, 6})})})}},
      {"string", {s("")}},
      {"bytes", {Value::ofBytes(Bytes(32, 0xee))}},
  };
}

TEST(AbiDecode, RoundTripsNestedDynamicTypes) {
  for (const auto& c : cases()) {
    auto t = types(c.types);
    Bytes enc = encode(t, c.values);
    EXPECT_EQ(enc.size() % 32, 0u) << c.types;
    EXPECT_EQ(decode(t, enc), c.values) << c.types;
    // Canonical types re-parse to the same types.
    for (const auto& ty : t) EXPECT_EQ(Type::parse(ty.canonical()), ty);
  }
}

TEST(AbiDecode, RoomRegistryReturnShape) {
  auto c = cases()[1];
  Bytes enc = encode(types(c.types), c.values);
  EXPECT_EQ(enc.size(), 5u * 32);
  auto v = decode(c.types, enc);
  EXPECT_EQ(v[0].toAddress()[0], 0xa0);
  EXPECT_EQ(v[1].toUint64(), 2u);
  EXPECT_EQ(v[2].toUint64(), 1700000000u);
  EXPECT_EQ(v[4].bytes(), Bytes(32, 0x42));
  EXPECT_THROW(v[0].toUint64(), AbiError);
  EXPECT_THROW(v[1].str(), AbiError);
}

TEST(AbiDecode, EveryTruncationThrows) {
  for (const auto& c : cases()) {
    auto t = types(c.types);
    Bytes enc = encode(t, c.values);
    for (size_t n = 0; n < enc.size(); ++n) {
      std::span<const uint8_t> prefix(enc.data(), n);
      EXPECT_THROW(decode(t, prefix), DecodeError) << c.types << " truncated to " << n;
    }
  }
}

TEST(AbiDecode, RandomByteFlipsNeverCrash) {
  std::mt19937 rng(12345);
  for (const auto& c : cases()) {
    auto t = types(c.types);
    Bytes enc = encode(t, c.values);
    for (int round = 0; round < 2000; ++round) {
      Bytes bad = enc;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        size_t at = rng() % bad.size();
        switch (rng() % 3) {
          case 0:
            bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            bad[at] = 0xff;
            break;
          default:
            bad[at] = static_cast<uint8_t>(rng());
            break;
        }
      }
      try {
        auto v = decode(t, bad);
        // Whatever decodes re-encodes; overlapping offsets cannot expand it much.
        EXPECT_LE(encode(t, v).size(), 2 * bad.size()) << c.types;
      } catch (const DecodeError&) {
      }
    }
  }
}

TEST(AbiDecode, RejectsNonZeroPadding) {
  auto word = [](std::string_view h) { return unhex(h); };
  EXPECT_THROW(decode("uint8", word(right("100"))), DecodeError);
  EXPECT_NO_THROW(decode("uint8", word(right("ff"))));
  EXPECT_THROW(decode("uint64", word(right("10000000000000000"))), DecodeError);
  EXPECT_THROW(decode("bool", word(right("2"))), DecodeError);
  EXPECT_THROW(decode("bool", word(right("100"))), DecodeError);
  EXPECT_THROW(decode("address", word("01" + right("").substr(2))), DecodeError);
  EXPECT_THROW(decode("int8", word(right("80"))), DecodeError);  // +128 is not an int8
  EXPECT_THROW(decode("int8", word("7f" + std::string(62, 'f'))), DecodeError);
  EXPECT_NO_THROW(decode("int8", word(std::string(62, 'f') + "80")));
  EXPECT_THROW(decode("bytes2", word(left("aabbcc"))), DecodeError);
  EXPECT_NO_THROW(decode("bytes3", word(left("aabbcc"))));
  // bytes/string: the padding after the contents must be zero too.
  EXPECT_THROW(decode("string", word(right("20") + right("1") + "61" + std::string(61, '0') + "1")), DecodeError);
  EXPECT_NO_THROW(decode("string", word(right("20") + right("1") + left("61"))));
}

TEST(AbiDecode, RejectsBadOffsetsAndLengths) {
  auto d = [](std::string_view list, std::string_view h) { return decode(list, unhex(h)); };
  // Offset past the end, at the very end, huge, beyond 64 bits.
  EXPECT_THROW(d("string", right("40") + right("0")), DecodeError);
  EXPECT_THROW(d("string", right("20")), DecodeError);
  EXPECT_THROW(d("string", right("ffffffffffffffff") + right("0")), DecodeError);
  EXPECT_THROW(d("string", std::string(64, 'f') + right("0")), DecodeError);
  EXPECT_THROW(d("string", "01" + right("20").substr(2) + right("0")), DecodeError);
  // Offset into the head (itself): the head word read as a length.
  EXPECT_THROW(d("string", right("0")), DecodeError);
  EXPECT_THROW(d("uint256,bytes", right("0") + right("20") + right("0")), DecodeError);
  // Huge lengths.
  EXPECT_THROW(d("string", right("20") + right("ffffffffffffffff")), DecodeError);
  EXPECT_THROW(d("string", right("20") + std::string(64, 'f')), DecodeError);
  EXPECT_THROW(d("string", right("20") + right("21") + left("61")), DecodeError);
  EXPECT_THROW(d("uint256[]", right("20") + right("ffffffffffffffff")), DecodeError);
  EXPECT_THROW(d("uint256[]", right("20") + right("7ffffffffffffff")), DecodeError);
  EXPECT_THROW(d("uint256[]", right("20") + right("2") + right("1")), DecodeError);
  EXPECT_THROW(d("string[]", right("20") + right("800000000000000") + right("0")), DecodeError);
  // Fixed array longer than the data.
  EXPECT_THROW(d("uint256[1000]", right("1")), DecodeError);
}

TEST(AbiDecode, EmptyListDecodesNothing) {
  EXPECT_TRUE(decode("", Bytes{}).empty());
  EXPECT_TRUE(decode(types(""), Bytes(64, 0)).empty());
}

TEST(AbiDecode, RejectsOverlappingOffsetsThatExpand) {
  // uint256[][] with many outer elements all pointing at one inner array of 64 words: a
  // small input that would decode into n * 64 values.
  const size_t n = 200, m = 64;
  // The inner array sits right after the n offsets: offset n * 32 relative to the element area.
  std::string h = right("20") + right(hex(Bytes{static_cast<uint8_t>(n)}));
  std::string off = right(hex(Bytes{static_cast<uint8_t>((n * 32) >> 8), static_cast<uint8_t>((n * 32) & 0xff)}));
  for (size_t i = 0; i < n; ++i) h += off;
  h += right(hex(Bytes{static_cast<uint8_t>(m)}));
  for (size_t i = 0; i < m; ++i) h += right("7");
  EXPECT_THROW(decode("uint256[][]", unhex(h)), DecodeError);
  // The same with a single outer element is fine.
  std::string ok = right("20") + right("1") + right("20") + right(hex(Bytes{static_cast<uint8_t>(m)}));
  for (size_t i = 0; i < m; ++i) ok += right("7");
  EXPECT_EQ(decode("uint256[][]", unhex(ok))[0].items()[0].items().size(), m);
}

TEST(AbiRevert, ErrorString) {
  // Solidity docs: revert("Not enough Ether provided.")
  Bytes data =
      unhex("08c379a0" + right("20") + right("1a") + left("4e6f7420656e6f7567682045746865722070726f76696465642e"));
  EXPECT_EQ(data, encodeCall("Error(string)", {Value::ofString("Not enough Ether provided.")}));
  Revert r = decodeRevert(data);
  EXPECT_EQ(r.kind, Revert::Kind::Error);
  EXPECT_EQ(r.message, "Not enough Ether provided.");
  EXPECT_EQ(r.describe(), "Error: Not enough Ether provided.");
  // Malformed Error(string) arguments: classified, not thrown.
  Bytes truncated(data.begin(), data.end() - 1);
  EXPECT_EQ(decodeRevert(truncated).kind, Revert::Kind::Unknown);
}

TEST(AbiRevert, PanicCodesAreNamed) {
  Revert r = decodeRevert(unhex("4e487b71" + right("11")));
  EXPECT_EQ(r.kind, Revert::Kind::Panic);
  EXPECT_EQ(r.panic_code, 0x11u);
  EXPECT_EQ(r.describe(), "Panic 0x11 (arithmetic overflow or underflow)");
  EXPECT_EQ(panicName(0x01), "assert(false)");
  EXPECT_EQ(panicName(0x12), "division or modulo by zero");
  EXPECT_EQ(panicName(0x32), "array index out of bounds");
  EXPECT_EQ(panicName(0x21), "conversion to an out-of-range enum value");
  EXPECT_EQ(panicName(0x99), "unknown panic code");
  EXPECT_EQ(decodeRevert(unhex("4e487b71" + right("0"))).describe(), "Panic 0x00 (generic compiler panic)");
  EXPECT_EQ(decodeRevert(unhex("4e487b71" + std::string(64, 'f'))).kind, Revert::Kind::Unknown);
  EXPECT_EQ(decodeRevert(unhex("4e487b71")).kind, Revert::Kind::Unknown);
}

TEST(AbiRevert, EmptyShortAndCustom) {
  EXPECT_EQ(decodeRevert(Bytes{}).kind, Revert::Kind::Empty);
  EXPECT_EQ(decodeRevert(Bytes{}).describe(), "reverted without data");
  EXPECT_EQ(decodeRevert(Bytes{1, 2, 3}).kind, Revert::Kind::Unknown);
  EXPECT_EQ(decodeRevert(Bytes{1, 2, 3}).describe(), "unrecognised revert data 0x010203");

  Bytes id(32, 0x42);
  Bytes data = encodeCall("RoomExists(bytes32)", {Value::ofFixedBytes(id)});
  Revert r = decodeRevert(data);
  EXPECT_EQ(r.kind, Revert::Kind::Custom);
  EXPECT_EQ(r.selector, selector("RoomExists(bytes32)"));
  EXPECT_EQ(r.args.size(), 32u);
  EXPECT_FALSE(matchError(r, "RoomNotFound(bytes32)").has_value());
  auto args = matchError(r, "RoomExists(bytes32)");
  ASSERT_TRUE(args.has_value());
  EXPECT_EQ((*args)[0].bytes(), id);
  EXPECT_FALSE(matchError(decodeRevert(Bytes{}), "RoomExists(bytes32)").has_value());

  Revert t = decodeRevert(encodeCall("InvalidTransition(bytes32,uint8)", {Value::ofFixedBytes(id), Value::ofUint(3)}));
  auto targs = matchError(t, "InvalidTransition(bytes32,uint8)");
  ASSERT_TRUE(targs.has_value());
  EXPECT_EQ((*targs)[1].toUint64(), 3u);

  Address who{};
  who[19] = 9;
  Revert n = decodeRevert(encodeCall("NotAuthorized(address)", {Value::ofAddress(who)}));
  EXPECT_EQ(matchError(n, "NotAuthorized(address)").value()[0].toAddress(), who);
  // A matching selector with malformed arguments is an error, not a silent miss.
  Bytes bad = encodeCall("NotAuthorized(address)", {Value::ofAddress(who)});
  bad[4] = 1;
  EXPECT_THROW(matchError(decodeRevert(bad), "NotAuthorized(address)"), DecodeError);
}

TEST(AbiEvent, TopicsAndData) {
  Bytes id(32, 0x42);
  EXPECT_EQ(eventTopic("RoomCreated(bytes32,address,string)"), keccak256("RoomCreated(bytes32,address,string)"));
  Hash topic = encodeTopic(Type::parse("bytes32"), Value::ofFixedBytes(id));
  EXPECT_EQ(hex(topic), hex(id));
  EXPECT_EQ(decodeTopic(Type::parse("bytes32"), topic).bytes(), id);

  Address a{};
  a[0] = 0xf3;
  Hash ta = encodeTopic(Type::parse("address"), Value::ofAddress(a));
  EXPECT_EQ(hex(ta), right(hex(a)));
  EXPECT_EQ(decodeTopic(Type::parse("address"), ta).toAddress(), a);
  EXPECT_THROW(decodeTopic(Type::parse("uint8"), ta), DecodeError);

  // Indexed strings are hashed: the topic is keccak256 of the contents.
  Hash ts = encodeTopic(Type::parse("string"), Value::ofString("hello"));
  EXPECT_EQ(ts, keccak256("hello"));
  EXPECT_EQ(decodeTopic(Type::parse("string"), ts).bytes(), Bytes(ts.begin(), ts.end()));
  EXPECT_THROW(encodeTopic(Type::parse("uint8[]"), Value::ofArray({})), EncodeError);

  // Non-indexed data is a plain tuple decode.
  Bytes data = encode(types("address,string"), {Value::ofAddress(a), Value::ofString("Friday night jazz")});
  auto v = decode("address,string", data);
  EXPECT_EQ(v[1].str(), "Friday night jazz");
}

}  // namespace
}  // namespace liveroom::eth::abi
