// Ethereum contract ABI codec (Solidity ABI specification v2): canonical type strings,
// function selectors and event topics, head/tail encoding of call arguments, a strict decoder
// that is safe on hostile input (return data, revert data and logs come from a remote node),
// revert-data classification (Error(string), Panic(uint256), custom errors) and event helpers.
// No knowledge of any particular contract.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "eth/keccak.hpp"

namespace liveroom::eth::abi {

using Word = std::array<uint8_t, 32>;     // one ABI slot, big-endian
using Address = std::array<uint8_t, 20>;  // an account or contract address
using Selector = std::array<uint8_t, 4>;  // first 4 bytes of keccak256(signature)
using Bytes = std::vector<uint8_t>;

// Base of every error this codec throws.
class AbiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A type string or signature that is not a valid canonical ABI type ("uint7", "bytes33", ...).
class TypeError : public AbiError {
 public:
  using AbiError::AbiError;
};
// A value that does not match its type (wrong kind, out of range, wrong fixed length).
class EncodeError : public AbiError {
 public:
  using AbiError::AbiError;
};
// Malformed encoded data: truncated, offset or length out of range, non-zero padding, ...
class DecodeError : public AbiError {
 public:
  using AbiError::AbiError;
};

// An ABI type. Arrays hold their element type as components[0]; tuples hold their members.
struct Type {
  enum class Kind { Uint, Int, Address, Bool, FixedBytes, Bytes, String, Array, FixedArray, Tuple };
  Kind kind = Kind::Uint;
  unsigned bits = 256;           // Uint/Int: 8..256 in steps of 8
  size_t size = 0;               // FixedBytes: 1..32; FixedArray: element count (>= 1)
  std::vector<Type> components;  // Array/FixedArray: the element type; Tuple: the members

  // Parses "uint256", "int8", "address", "bool", "bytes10", "bytes", "string", "T[]", "T[k]",
  // "(T1,T2,...)". "uint"/"int" are accepted as aliases of uint256/int256. No spaces, no
  // names; nesting deeper than kMaxDepth or a static size beyond 2^32 bytes is rejected.
  static Type parse(std::string_view text);
  std::string canonical() const;  // the form used in signatures: "uint256", "(address,uint8)[]"
  bool isDynamic() const;         // encoded in the tail (bytes, string, T[], or containing one)
  size_t headSize() const;        // bytes this type takes in its parent's head

  bool operator==(const Type&) const = default;

  static constexpr int kMaxDepth = 32;
};

// "uint256,bool" (or "" for none) -> types. A surrounding "(...)" is NOT stripped: "(a,b)" is
// one tuple type.
std::vector<Type> parseTypeList(std::string_view text);

// "name(T1,T2,...)" (a function, event or error signature).
struct Signature {
  std::string name;
  std::vector<Type> inputs;
  static Signature parse(std::string_view text);
  std::string canonical() const;  // "name(uint256,bool)" with aliases expanded
};

// A value to encode or a decoded value. Decoded values of T[] and T[k] are both Array.
class Value {
 public:
  enum class Kind { Uint, Int, Address, Bool, FixedBytes, Bytes, String, Array, Tuple };

  static Value ofUint(uint64_t v);
  static Value ofUintWord(const Word& big_endian);  // any uint up to 256 bits
  static Value ofInt(int64_t v);
  static Value ofIntWord(const Word& twos_complement);
  static Value ofAddress(const Address& a);
  static Value ofBool(bool b);
  static Value ofFixedBytes(std::span<const uint8_t> b);  // 1..32 bytes (bytesN, N = size)
  static Value ofBytes(std::span<const uint8_t> b);
  static Value ofString(std::string_view s);
  static Value ofArray(std::vector<Value> items);  // for T[] and T[k]
  static Value ofTuple(std::vector<Value> items);

  Kind kind() const { return kind_; }
  // Uint/Int/Address/Bool: the 32-byte ABI word (two's complement for Int, right-aligned address).
  const Word& word() const;
  uint64_t toUint64() const;  // Uint only; throws AbiError if the value needs more than 64 bits
  int64_t toInt64() const;    // Int only; throws AbiError if out of int64 range
  Address toAddress() const;
  bool toBool() const;
  const Bytes& bytes() const;               // FixedBytes/Bytes/String contents
  std::string str() const;                  // String contents (raw bytes, not validated as UTF-8)
  const std::vector<Value>& items() const;  // Array/Tuple

  bool operator==(const Value&) const = default;

 private:
  explicit Value(Kind k) : kind_(k) {}
  void expect(Kind k, const char* what) const;
  Kind kind_;
  Word word_{};
  Bytes bytes_;
  std::vector<Value> items_;
};

// Selector of a function or error signature; the signature is canonicalised first.
Selector selector(std::string_view signature);
// topic0 of an event: keccak256 of its canonical signature.
Hash eventTopic(std::string_view signature);

// Head/tail encoding of a value list as a tuple (no selector).
Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values);
// selector(signature) followed by encode(signature's inputs, values).
Bytes encodeCall(std::string_view signature, const std::vector<Value>& values);

// Strict decoding of data encoded as a tuple of `types` (return data, event data, error
// arguments). Throws DecodeError on anything malformed: truncation, offsets or lengths out of
// range, non-zero padding (uintN<256, intN sign extension, address, bool 0/1, bytesN and
// bytes/string tails), or data that expands beyond its size through overlapping offsets.
// Bytes after the encoded values are ignored.
std::vector<Value> decode(const std::vector<Type>& types, std::span<const uint8_t> data);
std::vector<Value> decode(std::string_view type_list, std::span<const uint8_t> data);

// Event helpers. Non-indexed parameters are decode(types, log.data). An indexed parameter
// of a static type is its ABI word; of a dynamic type (string, bytes, arrays, tuples) it is a
// keccak256 that cannot be decoded: decodeTopic returns it as a bytes32 value.
Value decodeTopic(const Type& type, const Hash& topic);
// The topic to filter on for an indexed parameter: the word of a static value, keccak256 of
// the contents for string/bytes. Throws EncodeError for arrays and tuples with dynamic parts.
Hash encodeTopic(const Type& type, const Value& value);

// Revert data of a failed call or transaction.
struct Revert {
  enum class Kind {
    Empty,    // no data (revert() / require without message / out of gas on some nodes)
    Error,    // Error(string): message
    Panic,    // Panic(uint256): panic_code
    Custom,   // some other 4-byte selector: selector + args (match with matchError)
    Unknown,  // 1..3 bytes, or Error/Panic with malformed arguments
  };
  Kind kind = Kind::Empty;
  std::string message;      // Error
  uint64_t panic_code = 0;  // Panic
  Selector selector{};      // Error/Panic/Custom
  Bytes args;               // data after the selector (Error/Panic/Custom/Unknown with selector)
  Bytes raw;                // all revert data

  std::string describe() const;  // "Error: msg", "Panic 0x11 (arithmetic overflow ...)", ...
};
Revert decodeRevert(std::span<const uint8_t> data);
// Name of a Solidity panic code ("assert(false)", "arithmetic overflow or underflow", ...),
// or "unknown panic code".
std::string_view panicName(uint64_t code);
// If `revert` is the custom error `signature` (e.g. "RoomExists(bytes32)"), its decoded
// arguments; nullopt if the selector differs. Throws DecodeError if the selector matches but
// the arguments are malformed.
std::optional<std::vector<Value>> matchError(const Revert& revert, std::string_view signature);

}  // namespace liveroom::eth::abi
