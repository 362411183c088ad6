// Ethereum contract ABI codec (see abi.hpp). The decoder bounds every read by the input size,
// checks offsets and lengths before any arithmetic that could overflow, limits recursion by
// the (bounded) nesting depth of the type, and charges each decoded 32-byte word against the
// input size so that overlapping offsets cannot expand a small input into a huge value.
#include "eth/abi.hpp"

#include <algorithm>
#include <limits>

#include "common/hex.hpp"

namespace liveroom::eth::abi {

namespace {

constexpr size_t kMaxStaticSize = size_t{1} << 32;
constexpr size_t kMaxFixedArray = size_t{1} << 20;

// ---------------------------------------------------------------------------------------------
// Type parsing

class TypeParser {
 public:
  explicit TypeParser(std::string_view text) : text_(text) {}

  Type parseType(int depth) {
    if (depth > Type::kMaxDepth) fail("nesting too deep");
    Type t = parseBase(depth);
    while (pos_ < text_.size() && text_[pos_] == '[') {
      ++pos_;
      Type arr;
      arr.components.push_back(std::move(t));
      if (pos_ < text_.size() && text_[pos_] == ']') {
        arr.kind = Type::Kind::Array;
      } else {
        arr.kind = Type::Kind::FixedArray;
        arr.size = parseNumber();
        if (arr.size == 0 || arr.size > kMaxFixedArray) fail("bad fixed array length");
      }
      expect(']');
      if (++depth > Type::kMaxDepth) fail("nesting too deep");
      if (!arr.isDynamic() && arr.components[0].headSize() > kMaxStaticSize / arr.size) fail("type too large");
      t = std::move(arr);
    }
    return t;
  }

  std::vector<Type> parseList(int depth, char close) {
    std::vector<Type> out;
    if (pos_ < text_.size() && text_[pos_] == close) return out;
    while (true) {
      out.push_back(parseType(depth));
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      return out;
    }
  }

  bool atEnd() const { return pos_ == text_.size(); }
  size_t pos() const { return pos_; }
  void expect(char c) {
    if (pos_ >= text_.size() || text_[pos_] != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw TypeError("invalid ABI type \"" + std::string(text_) + "\" at " + std::to_string(pos_) + ": " + why);
  }

 private:
  // Decimal without leading zeros, at most 7 digits (enough for every size we accept).
  size_t parseNumber() {
    size_t start = pos_;
    size_t v = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      if (pos_ - start >= 7) fail("number too long");
      v = v * 10 + static_cast<size_t>(text_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) fail("expected a number");
    if (text_[start] == '0' && pos_ - start > 1) fail("leading zero");
    return v;
  }

  bool consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool digitNext() const { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }

  Type parseBase(int depth) {
    Type t;
    if (pos_ < text_.size() && text_[pos_] == '(') {
      ++pos_;
      t.kind = Type::Kind::Tuple;
      t.components = parseList(depth + 1, ')');
      if (t.components.empty()) fail("empty tuple");
      expect(')');
      if (!t.isDynamic() && t.headSize() > kMaxStaticSize) fail("type too large");
      return t;
    }
    bool is_uint = consume("uint");
    if (is_uint || consume("int")) {
      t.kind = is_uint ? Type::Kind::Uint : Type::Kind::Int;
      t.bits = 256;
      if (digitNext()) {
        size_t bits = parseNumber();
        if (bits < 8 || bits > 256 || bits % 8 != 0) fail("bad integer width");
        t.bits = static_cast<unsigned>(bits);
      }
      return t;
    }
    if (consume("address")) {
      t.kind = Type::Kind::Address;
      return t;
    }
    if (consume("bool")) {
      t.kind = Type::Kind::Bool;
      return t;
    }
    if (consume("string")) {
      t.kind = Type::Kind::String;
      return t;
    }
    if (consume("bytes")) {
      if (digitNext()) {
        size_t n = parseNumber();
        if (n < 1 || n > 32) fail("bad bytesN length");
        t.kind = Type::Kind::FixedBytes;
        t.size = n;
      } else {
        t.kind = Type::Kind::Bytes;
      }
      return t;
    }
    fail("unknown type");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool isIdentifierChar(char c, bool first) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$') return true;
  return !first && c >= '0' && c <= '9';
}

std::string listCanonical(const std::vector<Type>& types) {
  std::string out;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i) out += ',';
    out += types[i].canonical();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding

Word wordFromUint64(uint64_t v) {
  Word w{};
  for (int i = 0; i < 8; ++i) w[31 - i] = static_cast<uint8_t>(v >> (8 * i));
  return w;
}

// True if `w` is a uint of at most `bits` bits.
bool fitsUint(const Word& w, unsigned bits) {
  size_t pad = 32 - bits / 8;
  return std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(pad), [](uint8_t b) { return b == 0; });
}

// True if `w` is the sign extension of its low `bits` bits.
bool fitsInt(const Word& w, unsigned bits) {
  size_t pad = 32 - bits / 8;
  uint8_t fill = (w[pad] & 0x80) ? 0xff : 0x00;
  return std::all_of(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(pad), [fill](uint8_t b) { return b == fill; });
}

const char* kindName(Value::Kind k) {
  switch (k) {
    case Value::Kind::Uint:
      return "uint";
    case Value::Kind::Int:
      return "int";
    case Value::Kind::Address:
      return "address";
    case Value::Kind::Bool:
      return "bool";
    case Value::Kind::FixedBytes:
      return "bytesN";
    case Value::Kind::Bytes:
      return "bytes";
    case Value::Kind::String:
      return "string";
    case Value::Kind::Array:
      return "array";
    case Value::Kind::Tuple:
      return "tuple";
  }
  return "?";
}

void appendWord(Bytes& out, const Word& w) { out.insert(out.end(), w.begin(), w.end()); }

void appendPadded(Bytes& out, std::span<const uint8_t> b) {
  out.insert(out.end(), b.begin(), b.end());
  out.resize(out.size() + (32 - b.size() % 32) % 32, 0);
}

[[noreturn]] void mismatch(const Type& t, const Value& v) {
  throw EncodeError("ABI encode: a " + std::string(kindName(v.kind())) + " value does not fit " + t.canonical());
}

void encodeValue(const Type& t, const Value& v, Bytes& out);

// Encodes `values` as a tuple/array body (heads then tails) of the given element types.
template <typename TypeAt>
void encodeSequence(size_t n, TypeAt typeAt, const std::vector<Value>& values, Bytes& out) {
  size_t head_size = 0;
  for (size_t i = 0; i < n; ++i) head_size += typeAt(i).headSize();
  size_t start = out.size();
  out.resize(start + head_size, 0);
  size_t head = start;
  for (size_t i = 0; i < n; ++i) {
    const Type& t = typeAt(i);
    if (t.isDynamic()) {
      Word off = wordFromUint64(out.size() - start);
      std::copy(off.begin(), off.end(), out.begin() + static_cast<std::ptrdiff_t>(head));
      encodeValue(t, values[i], out);
      head += 32;
    } else {
      Bytes tmp;
      encodeValue(t, values[i], tmp);
      std::copy(tmp.begin(), tmp.end(), out.begin() + static_cast<std::ptrdiff_t>(head));
      head += tmp.size();
    }
  }
}

void encodeValue(const Type& t, const Value& v, Bytes& out) {
  using K = Type::Kind;
  using VK = Value::Kind;
  switch (t.kind) {
    case K::Uint:
      if (v.kind() != VK::Uint || !fitsUint(v.word(), t.bits)) mismatch(t, v);
      appendWord(out, v.word());
      return;
    case K::Int:
      if (v.kind() != VK::Int || !fitsInt(v.word(), t.bits)) mismatch(t, v);
      appendWord(out, v.word());
      return;
    case K::Address:
      if (v.kind() != VK::Address) mismatch(t, v);
      appendWord(out, v.word());
      return;
    case K::Bool:
      if (v.kind() != VK::Bool) mismatch(t, v);
      appendWord(out, v.word());
      return;
    case K::FixedBytes:
      if (v.kind() != VK::FixedBytes || v.bytes().size() != t.size) mismatch(t, v);
      appendPadded(out, v.bytes());
      return;
    case K::Bytes:
    case K::String:
      if (v.kind() != (t.kind == K::Bytes ? VK::Bytes : VK::String)) mismatch(t, v);
      appendWord(out, wordFromUint64(v.bytes().size()));
      appendPadded(out, v.bytes());
      return;
    case K::Array:
    case K::FixedArray: {
      if (v.kind() != VK::Array) mismatch(t, v);
      const auto& items = v.items();
      if (t.kind == K::FixedArray && items.size() != t.size) mismatch(t, v);
      if (t.kind == K::Array) appendWord(out, wordFromUint64(items.size()));
      encodeSequence(
          items.size(), [&](size_t) -> const Type& { return t.components[0]; }, items, out);
      return;
    }
    case K::Tuple: {
      if (v.kind() != VK::Tuple || v.items().size() != t.components.size()) mismatch(t, v);
      encodeSequence(
          t.components.size(), [&](size_t i) -> const Type& { return t.components[i]; }, v.items(), out);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> data) : data_(data), budget_(data.size() / 32) {}

  template <typename TypeAt>
  std::vector<Value> sequence(size_t n, TypeAt typeAt, size_t base) {
    // Head sizes first, so a huge count is rejected before anything is allocated.
    size_t avail = data_.size() - base;  // base <= size is an invariant of every caller
    std::vector<Value> out;
    if (n == 0) return out;
    // Arrays return one element type for every index; tuples have few members.
    size_t head_total = 0;
    if (&typeAt(0) == &typeAt(n - 1)) {
      size_t elem_head = typeAt(0).headSize();
      if (elem_head == 0) fail("zero-size type");  // only a hand-built Type can be empty
      if (n > avail / elem_head) fail("array longer than the data");
      head_total = n * elem_head;
    } else {
      for (size_t i = 0; i < n; ++i) head_total += typeAt(i).headSize();  // each <= kMaxStaticSize
      if (head_total > avail) fail("truncated");
    }
    out.reserve(n);
    size_t head = base;
    for (size_t i = 0; i < n; ++i) {
      const Type& t = typeAt(i);
      if (t.isDynamic()) {
        uint64_t off = readSize(head);
        if (off > avail) fail("offset out of range");
        if (off < head_total) fail("offset into the head");
        out.push_back(value(t, base + static_cast<size_t>(off)));
        head += 32;
      } else {
        out.push_back(value(t, head));
        head += t.headSize();
      }
    }
    return out;
  }

 private:
  [[noreturn]] static void fail(const std::string& why) { throw DecodeError("ABI decode: " + why); }

  void charge(size_t words) {
    if (words > budget_) fail("encoded values overlap (more data decoded than given)");
    budget_ -= words;
  }

  const uint8_t* wordAt(size_t pos) {
    if (pos > data_.size() || data_.size() - pos < 32) fail("truncated");
    return data_.data() + pos;
  }

  // A length or offset: must fit in 64 bits (callers compare it with the data size).
  uint64_t readSize(size_t pos) {
    const uint8_t* w = wordAt(pos);
    for (int i = 0; i < 24; ++i)
      if (w[i] != 0) fail("offset or length out of range");
    uint64_t v = 0;
    for (int i = 24; i < 32; ++i) v = (v << 8) | w[i];
    return v;
  }

  Word readWord(size_t pos) {
    const uint8_t* w = wordAt(pos);
    Word out{};
    std::copy(w, w + 32, out.begin());
    charge(1);
    return out;
  }

  Value value(const Type& t, size_t pos) {
    using K = Type::Kind;
    switch (t.kind) {
      case K::Uint: {
        Word w = readWord(pos);
        if (!fitsUint(w, t.bits)) fail("uint" + std::to_string(t.bits) + " with non-zero high bytes");
        return Value::ofUintWord(w);
      }
      case K::Int: {
        Word w = readWord(pos);
        if (!fitsInt(w, t.bits)) fail("int" + std::to_string(t.bits) + " not sign-extended");
        return Value::ofIntWord(w);
      }
      case K::Address: {
        Word w = readWord(pos);
        if (!fitsUint(w, 160)) fail("address with non-zero high bytes");
        Address a{};
        std::copy(w.begin() + 12, w.end(), a.begin());
        return Value::ofAddress(a);
      }
      case K::Bool: {
        Word w = readWord(pos);
        if (!fitsUint(w, 8) || w[31] > 1) fail("bool not 0 or 1");
        return Value::ofBool(w[31] == 1);
      }
      case K::FixedBytes: {
        Word w = readWord(pos);
        if (std::any_of(w.begin() + static_cast<std::ptrdiff_t>(t.size), w.end(), [](uint8_t b) { return b != 0; }))
          fail("bytes" + std::to_string(t.size) + " with non-zero padding");
        return Value::ofFixedBytes(std::span<const uint8_t>(w.data(), t.size));
      }
      case K::Bytes:
      case K::String: {
        uint64_t len = readSize(pos);
        charge(1);
        size_t avail = data_.size() - pos - 32;  // wordAt checked pos + 32 <= size
        if (len > avail) fail("length beyond the data");
        size_t padded = static_cast<size_t>(len) + (32 - len % 32) % 32;
        if (padded > avail) fail("truncated padding");
        charge(padded / 32);
        const uint8_t* p = data_.data() + pos + 32;
        if (std::any_of(p + len, p + padded, [](uint8_t b) { return b != 0; })) fail("non-zero padding after bytes");
        std::span<const uint8_t> content(p, static_cast<size_t>(len));
        if (t.kind == K::Bytes) return Value::ofBytes(content);
        return Value::ofString(std::string_view(reinterpret_cast<const char*>(p), content.size()));
      }
      case K::Array: {
        uint64_t len = readSize(pos);
        charge(1);
        size_t base = pos + 32;
        if (len > data_.size() - base) fail("array longer than the data");
        return Value::ofArray(sequence(
            static_cast<size_t>(len), [&](size_t) -> const Type& { return t.components[0]; }, base));
      }
      case K::FixedArray:
        if (pos > data_.size()) fail("truncated");
        return Value::ofArray(sequence(
            t.size, [&](size_t) -> const Type& { return t.components[0]; }, pos));
      case K::Tuple:
        if (pos > data_.size()) fail("truncated");
        return Value::ofTuple(sequence(
            t.components.size(), [&](size_t i) -> const Type& { return t.components[i]; }, pos));
    }
    fail("unknown type");
  }

  std::span<const uint8_t> data_;
  size_t budget_;  // 32-byte words that may still be decoded
};

std::string hexOf(std::span<const uint8_t> b) { return hexEncode(b); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Type

Type Type::parse(std::string_view text) {
  TypeParser p(text);
  Type t = p.parseType(0);
  if (!p.atEnd()) p.fail("unexpected character");
  return t;
}

std::string Type::canonical() const {
  switch (kind) {
    case Kind::Uint:
      return "uint" + std::to_string(bits);
    case Kind::Int:
      return "int" + std::to_string(bits);
    case Kind::Address:
      return "address";
    case Kind::Bool:
      return "bool";
    case Kind::FixedBytes:
      return "bytes" + std::to_string(size);
    case Kind::Bytes:
      return "bytes";
    case Kind::String:
      return "string";
    case Kind::Array:
      return components[0].canonical() + "[]";
    case Kind::FixedArray:
      return components[0].canonical() + "[" + std::to_string(size) + "]";
    case Kind::Tuple:
      return "(" + listCanonical(components) + ")";
  }
  return "?";
}

bool Type::isDynamic() const {
  switch (kind) {
    case Kind::Bytes:
    case Kind::String:
    case Kind::Array:
      return true;
    case Kind::FixedArray:
      return components[0].isDynamic();
    case Kind::Tuple:
      return std::any_of(components.begin(), components.end(), [](const Type& c) { return c.isDynamic(); });
    default:
      return false;
  }
}

size_t Type::headSize() const {
  if (isDynamic()) return 32;
  if (kind == Kind::FixedArray) return size * components[0].headSize();  // bounded at parse time
  if (kind == Kind::Tuple) {
    size_t total = 0;
    for (const auto& c : components) total += c.headSize();
    return total;
  }
  return 32;
}

std::vector<Type> parseTypeList(std::string_view text) {
  TypeParser p(text);
  std::vector<Type> out;
  if (text.empty()) return out;
  out = p.parseList(1, '\0');
  if (!p.atEnd()) p.fail("unexpected character");
  return out;
}

Signature Signature::parse(std::string_view text) {
  size_t open = text.find('(');
  if (open == std::string_view::npos || open == 0 || text.back() != ')')
    throw TypeError("invalid ABI signature \"" + std::string(text) + "\"");
  for (size_t i = 0; i < open; ++i)
    if (!isIdentifierChar(text[i], i == 0))
      throw TypeError("invalid ABI signature name in \"" + std::string(text) + "\"");
  Signature s;
  s.name = std::string(text.substr(0, open));
  s.inputs = parseTypeList(text.substr(open + 1, text.size() - open - 2));
  return s;
}

std::string Signature::canonical() const { return name + "(" + listCanonical(inputs) + ")"; }

// ---------------------------------------------------------------------------------------------
// Value

Value Value::ofUint(uint64_t v) { return ofUintWord(wordFromUint64(v)); }
Value Value::ofUintWord(const Word& w) {
  Value v(Kind::Uint);
  v.word_ = w;
  return v;
}
Value Value::ofInt(int64_t i) {
  Word w = wordFromUint64(static_cast<uint64_t>(i));
  if (i < 0) std::fill(w.begin(), w.begin() + 24, uint8_t{0xff});
  return ofIntWord(w);
}
Value Value::ofIntWord(const Word& w) {
  Value v(Kind::Int);
  v.word_ = w;
  return v;
}
Value Value::ofAddress(const Address& a) {
  Value v(Kind::Address);
  std::copy(a.begin(), a.end(), v.word_.begin() + 12);
  return v;
}
Value Value::ofBool(bool b) {
  Value v(Kind::Bool);
  v.word_[31] = b ? 1 : 0;
  return v;
}
Value Value::ofFixedBytes(std::span<const uint8_t> b) {
  if (b.empty() || b.size() > 32) throw EncodeError("ABI: bytesN must hold 1 to 32 bytes");
  Value v(Kind::FixedBytes);
  v.bytes_.assign(b.begin(), b.end());
  return v;
}
Value Value::ofBytes(std::span<const uint8_t> b) {
  Value v(Kind::Bytes);
  v.bytes_.assign(b.begin(), b.end());
  return v;
}
Value Value::ofString(std::string_view s) {
  Value v(Kind::String);
  v.bytes_.assign(s.begin(), s.end());
  return v;
}
Value Value::ofArray(std::vector<Value> items) {
  Value v(Kind::Array);
  v.items_ = std::move(items);
  return v;
}
Value Value::ofTuple(std::vector<Value> items) {
  Value v(Kind::Tuple);
  v.items_ = std::move(items);
  return v;
}

void Value::expect(Kind k, const char* what) const {
  if (kind_ != k) throw AbiError(std::string("ABI value is a ") + kindName(kind_) + ", not " + what);
}

const Word& Value::word() const {
  if (kind_ != Kind::Uint && kind_ != Kind::Int && kind_ != Kind::Address && kind_ != Kind::Bool)
    throw AbiError(std::string("ABI value is a ") + kindName(kind_) + ", not a one-word value");
  return word_;
}
uint64_t Value::toUint64() const {
  expect(Kind::Uint, "uint");
  if (!fitsUint(word_, 64)) throw AbiError("ABI uint does not fit in 64 bits");
  uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | word_[i];
  return v;
}
int64_t Value::toInt64() const {
  expect(Kind::Int, "int");
  if (!fitsInt(word_, 64)) throw AbiError("ABI int does not fit in 64 bits");
  uint64_t v = 0;
  for (int i = 24; i < 32; ++i) v = (v << 8) | word_[i];
  return static_cast<int64_t>(v);
}
Address Value::toAddress() const {
  expect(Kind::Address, "address");
  Address a{};
  std::copy(word_.begin() + 12, word_.end(), a.begin());
  return a;
}
bool Value::toBool() const {
  expect(Kind::Bool, "bool");
  return word_[31] != 0;
}
const Bytes& Value::bytes() const {
  if (kind_ != Kind::FixedBytes && kind_ != Kind::Bytes && kind_ != Kind::String)
    throw AbiError(std::string("ABI value is a ") + kindName(kind_) + ", not bytes");
  return bytes_;
}
std::string Value::str() const {
  expect(Kind::String, "string");
  return std::string(bytes_.begin(), bytes_.end());
}
const std::vector<Value>& Value::items() const {
  if (kind_ != Kind::Array && kind_ != Kind::Tuple)
    throw AbiError(std::string("ABI value is a ") + kindName(kind_) + ", not an array or tuple");
  return items_;
}

// ---------------------------------------------------------------------------------------------
// Selectors, encoding, decoding

Selector selector(std::string_view signature) {
  Hash h = keccak256(Signature::parse(signature).canonical());
  Selector s{};
  std::copy(h.begin(), h.begin() + 4, s.begin());
  return s;
}

Hash eventTopic(std::string_view signature) { return keccak256(Signature::parse(signature).canonical()); }

Bytes encode(const std::vector<Type>& types, const std::vector<Value>& values) {
  if (types.size() != values.size())
    throw EncodeError("ABI encode: " + std::to_string(values.size()) + " values for " + std::to_string(types.size()) +
                      " types");
  Bytes out;
  encodeSequence(
      types.size(), [&](size_t i) -> const Type& { return types[i]; }, values, out);
  return out;
}

Bytes encodeCall(std::string_view signature, const std::vector<Value>& values) {
  Signature sig = Signature::parse(signature);
  Hash h = keccak256(sig.canonical());
  Bytes out(h.begin(), h.begin() + 4);
  Bytes args = encode(sig.inputs, values);
  out.insert(out.end(), args.begin(), args.end());
  return out;
}

std::vector<Value> decode(const std::vector<Type>& types, std::span<const uint8_t> data) {
  Decoder d(data);
  return d.sequence(
      types.size(), [&](size_t i) -> const Type& { return types[i]; }, 0);
}

std::vector<Value> decode(std::string_view type_list, std::span<const uint8_t> data) {
  return decode(parseTypeList(type_list), data);
}

Value decodeTopic(const Type& type, const Hash& topic) {
  if (type.isDynamic()) return Value::ofFixedBytes(topic);
  if (type.headSize() != 32) throw DecodeError("ABI decode: an indexed " + type.canonical() + " is hashed");
  auto v = decode(std::vector<Type>{type}, topic);
  return std::move(v[0]);
}

Hash encodeTopic(const Type& type, const Value& value) {
  if (type.kind == Type::Kind::String || type.kind == Type::Kind::Bytes) {
    (void)encode({type}, {value});  // checks the kind
    return keccak256(value.bytes());
  }
  if (type.isDynamic() || type.headSize() != 32)
    throw EncodeError("ABI: topics of indexed " + type.canonical() + " are not supported");
  Bytes enc = encode({type}, {value});
  Hash h{};
  std::copy(enc.begin(), enc.end(), h.begin());
  return h;
}

// ---------------------------------------------------------------------------------------------
// Revert data

std::string_view panicName(uint64_t code) {
  switch (code) {
    case 0x00:
      return "generic compiler panic";
    case 0x01:
      return "assert(false)";
    case 0x11:
      return "arithmetic overflow or underflow";
    case 0x12:
      return "division or modulo by zero";
    case 0x21:
      return "conversion to an out-of-range enum value";
    case 0x22:
      return "incorrectly encoded storage byte array";
    case 0x31:
      return "pop() on an empty array";
    case 0x32:
      return "array index out of bounds";
    case 0x41:
      return "out of memory (too much memory allocated)";
    case 0x51:
      return "call to a zero-initialized internal function";
    default:
      return "unknown panic code";
  }
}

Revert decodeRevert(std::span<const uint8_t> data) {
  static const Selector kError = selector("Error(string)");
  static const Selector kPanic = selector("Panic(uint256)");
  Revert r;
  r.raw.assign(data.begin(), data.end());
  if (data.empty()) return r;
  if (data.size() < 4) {
    r.kind = Revert::Kind::Unknown;
    return r;
  }
  std::copy(data.begin(), data.begin() + 4, r.selector.begin());
  r.args.assign(data.begin() + 4, data.end());
  try {
    if (r.selector == kError) {
      auto v = decode({Type::parse("string")}, r.args);
      r.message = v[0].str();
      r.kind = Revert::Kind::Error;
    } else if (r.selector == kPanic) {
      auto v = decode({Type::parse("uint256")}, r.args);
      r.panic_code = v[0].toUint64();  // throws (-> Unknown) above 64 bits
      r.kind = Revert::Kind::Panic;
    } else {
      r.kind = Revert::Kind::Custom;
    }
  } catch (const AbiError&) {
    r.kind = Revert::Kind::Unknown;
  }
  return r;
}

std::string Revert::describe() const {
  switch (kind) {
    case Kind::Empty:
      return "reverted without data";
    case Kind::Error:
      return "Error: " + message;
    case Kind::Panic: {
      std::string code = hexOf(std::span<const uint8_t>(wordFromUint64(panic_code)).subspan(24));
      code.erase(0, std::min(code.find_first_not_of('0'), code.size() - 2));
      return "Panic 0x" + code + " (" + std::string(panicName(panic_code)) + ")";
    }
    case Kind::Custom:
      return "custom error 0x" + hexOf(selector) + " with " + std::to_string(args.size()) + " bytes of arguments";
    case Kind::Unknown:
      return "unrecognised revert data 0x" + hexOf(raw);
  }
  return "?";
}

std::optional<std::vector<Value>> matchError(const Revert& revert, std::string_view signature) {
  Signature sig = Signature::parse(signature);
  if (revert.kind == Revert::Kind::Empty || revert.raw.size() < 4) return std::nullopt;
  if (revert.selector != selector(signature)) return std::nullopt;
  return decode(sig.inputs, revert.args);
}

}  // namespace liveroom::eth::abi
