// Fuzz target: Ethereum contract ABI (eth_call return data, event data and revert data from a
// node), eth/abi.
// Input: one byte choosing a type list, then the data. Type list 0 means "the type text is in
// the input": it runs up to the first newline, and the data follows it.
// Checks, beyond "no crash":
//  - Type::parse / parseTypeList / Signature::parse throw nothing but TypeError, and
//    canonical() round-trips: parse(canonical(t)) == t, and canonical() is a fixed point;
//  - decode() throws nothing but DecodeError; decode -> encode -> decode gives the same values,
//    and the encoding of decoded values is canonical (encoding it again after decoding gives
//    the same bytes, and it is never longer than the data decoded... unless offsets overlapped,
//    which decode charges against the input size);
//  - decodeRevert() never throws, classifies by selector, and an Error(string) it reads
//    encodes back (encodeCall) to data that decodes to the same message; decodeTopic() of
//    static types gives the word's value.
#include <string>
#include <vector>

#include "eth/abi.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace liveroom::eth::abi;

// The shapes liveroom decodes (contract store: events, getRoom, errors) and some nastier ones.
constexpr const char* kTypeLists[] = {
    "",  // 0: from the input
    "bytes16,uint64,string,string,string",
    "string",
    "uint64",
    "address,uint8,uint64,uint64,bytes16",
    "bool",
    "bytes32,uint8",
    "address,bytes32",
    "uint256,uint32[],bytes10,bytes",
    "(bytes32,string,string,uint8,uint8,bytes16,uint8,uint64,uint64,uint64)",
    "string[],bytes[2]",
    "(uint256,bytes)[]",
    "int8,int256,uint24,bytes1,bytes31",
    "uint8[3][2],string[][]",
    "((string,uint16)[],(bool,address)[2])",
    "bytes",
};
constexpr size_t kTypeListCount = sizeof(kTypeLists) / sizeof(kTypeLists[0]);

void checkTypes(const std::vector<Type>& types) {
  for (const Type& t : types) {
    const std::string canonical = t.canonical();
    Type again;
    try {
      again = Type::parse(canonical);
    } catch (const TypeError& e) {
      FUZZ_UNEXPECTED_EXCEPTION(e);
    }
    FUZZ_CHECK(again == t, "Type::parse(canonical()) gives the same type");
    FUZZ_CHECK(again.canonical() == canonical, "canonical() is a fixed point");
  }
}

void checkDecode(const std::vector<Type>& types, std::span<const uint8_t> data) {
  std::vector<Value> values;
  try {
    values = decode(types, data);
  } catch (const DecodeError&) {
    return;
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(values.size() == types.size(), "one value per type");
  Bytes encoded;
  try {
    encoded = encode(types, values);
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);  // decoded values always fit their types
  }
  FUZZ_CHECK(encoded.size() % 32 == 0, "an encoding is whole words");
  std::vector<Value> again;
  try {
    again = decode(types, encoded);
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(again == values, "decode -> encode -> decode gives the same values");
  FUZZ_CHECK(encode(types, again) == encoded, "the encoding of decoded values is canonical");
  for (size_t i = 0; i < types.size(); ++i) {
    const Type& t = types[i];
    if (!t.isDynamic() && t.headSize() == 32) {
      liveroom::eth::Hash topic{};
      std::copy(encoded.begin() + static_cast<std::ptrdiff_t>(32 * i),
                encoded.begin() + static_cast<std::ptrdiff_t>(32 * i + 32), topic.begin());
      // The word of a static one-slot value is its head, at 32 * i only when all before are one slot.
      bool one_slot_prefix = true;
      for (size_t k = 0; k < i; ++k) one_slot_prefix = one_slot_prefix && types[k].headSize() == 32;
      if (!one_slot_prefix) continue;
      FUZZ_CHECK(decodeTopic(t, topic) == values[i], "decodeTopic reads the value's word");
      FUZZ_CHECK(encodeTopic(t, values[i]) == topic, "encodeTopic is the value's word");
    }
  }
}

void checkRevert(std::span<const uint8_t> data) {
  Revert r;
  try {
    r = decodeRevert(data);
    (void)r.describe();
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
  FUZZ_CHECK(r.raw == Bytes(data.begin(), data.end()), "raw keeps the data");
  if (data.empty()) FUZZ_CHECK(r.kind == Revert::Kind::Empty, "no data: Empty");
  if (!data.empty() && data.size() < 4) FUZZ_CHECK(r.kind == Revert::Kind::Unknown, "1..3 bytes: Unknown");
  if (r.kind == Revert::Kind::Error) {
    FUZZ_CHECK(r.selector == selector("Error(string)"), "Error has its selector");
    const Bytes call = encodeCall("Error(string)", {Value::ofString(r.message)});
    const Revert again = decodeRevert(call);
    FUZZ_CHECK(again.kind == Revert::Kind::Error && again.message == r.message, "Error(string) round-trip");
  }
  if (r.kind == Revert::Kind::Panic) {
    FUZZ_CHECK(r.selector == selector("Panic(uint256)"), "Panic has its selector");
    const Revert again = decodeRevert(encodeCall("Panic(uint256)", {Value::ofUint(r.panic_code)}));
    FUZZ_CHECK(again.kind == Revert::Kind::Panic && again.panic_code == r.panic_code, "Panic(uint256) round-trip");
  }
  try {
    (void)matchError(r, "InvalidTransition(bytes32,uint8)");
  } catch (const DecodeError&) {
  } catch (const std::exception& e) {
    FUZZ_UNEXPECTED_EXCEPTION(e);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t choice = data[0] % kTypeListCount;
  std::span<const uint8_t> rest(data + 1, size - 1);
  std::vector<Type> types;
  if (choice == 0) {
    const std::string_view text = liveroom::fuzz::asText(rest.data(), rest.size());
    const size_t nl = text.find('\n');
    const std::string_view type_text = text.substr(0, nl);
    rest = nl == std::string_view::npos ? std::span<const uint8_t>{} : rest.subspan(nl + 1);
    try {
      types = parseTypeList(type_text);
    } catch (const TypeError&) {
      types.clear();
    } catch (const std::exception& e) {
      FUZZ_UNEXPECTED_EXCEPTION(e);
    }
    try {
      const Signature sig = Signature::parse(type_text);
      FUZZ_CHECK(Signature::parse(sig.canonical()).canonical() == sig.canonical(), "signature canonical round-trip");
      checkTypes(sig.inputs);
    } catch (const TypeError&) {
    } catch (const std::exception& e) {
      FUZZ_UNEXPECTED_EXCEPTION(e);
    }
    if (types.empty()) return 0;
  } else {
    types = parseTypeList(kTypeLists[choice]);
  }
  checkTypes(types);
  checkDecode(types, rest);
  checkRevert(rest);
  return 0;
}
