#include <argon2.h>
#include <crypt.h>
#include <sys/random.h>

#include <cctype>
#include <cstring>
#include <memory>

#include "directory/password.h"

namespace mailfort::directory {
namespace {

// Argon2id parameters for new hashes (RFC 9106 second recommended option,
// with t=3): 64 MiB memory keeps GPU guessing expensive.
constexpr uint32_t kArgonT = 3;
constexpr uint32_t kArgonM = 65536;
constexpr uint32_t kArgonP = 1;
constexpr std::size_t kSaltLen = 16;
constexpr std::size_t kHashLen = 32;

bool consttime_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool verify_crypt(std::string_view password, const std::string& hash) {
  if (hash.empty() || hash[0] != '$') return false;  // no DES crypt: too weak to honour
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
  if (!out || out[0] == '*') return false;
  return consttime_equal(out, hash);
}

bool verify_argon2(std::string_view password, const std::string& encoded) {
  argon2_type type;
  if (encoded.rfind("$argon2id$", 0) == 0) {
    type = Argon2_id;
  } else if (encoded.rfind("$argon2i$", 0) == 0) {
    type = Argon2_i;
  } else {
    return false;
  }
  return argon2_verify(encoded.c_str(), password.data(), password.size(), type) == ARGON2_OK;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Result<std::string> hash_password(std::string_view password) {
  unsigned char salt[kSaltLen];
  if (getrandom(salt, sizeof salt, 0) != static_cast<ssize_t>(sizeof salt)) {
    return make_error(Errc::Temp, "no randomness for the salt");
  }
  std::size_t len = argon2_encodedlen(kArgonT, kArgonM, kArgonP, kSaltLen, kHashLen, Argon2_id);
  std::string encoded(len, '\0');
  int rc = argon2id_hash_encoded(kArgonT, kArgonM, kArgonP, password.data(), password.size(), salt, kSaltLen,
                                 kHashLen, encoded.data(), encoded.size());
  if (rc != ARGON2_OK) return make_error(Errc::Perm, std::string("argon2: ") + argon2_error_message(rc));
  encoded.resize(std::strlen(encoded.c_str()));
  return "{ARGON2ID}" + encoded;
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::string scheme, hash;
  if (!stored.empty() && stored.front() == '{') {
    auto close = stored.find('}');
    if (close == std::string_view::npos) return false;
    scheme = upper(stored.substr(1, close - 1));
    hash = std::string(stored.substr(close + 1));
  } else {
    hash = std::string(stored);
  }
  if (scheme.empty()) {
    if (hash.rfind("$argon2", 0) == 0) return verify_argon2(password, hash);
    return verify_crypt(password, hash);
  }
  if (scheme == "ARGON2ID" || scheme == "ARGON2I") return verify_argon2(password, hash);
  if (scheme == "SHA512-CRYPT") return hash.rfind("$6$", 0) == 0 && verify_crypt(password, hash);
  if (scheme == "SHA256-CRYPT") return hash.rfind("$5$", 0) == 0 && verify_crypt(password, hash);
  if (scheme == "BLF-CRYPT") return hash.rfind("$2", 0) == 0 && verify_crypt(password, hash);
  if (scheme == "CRYPT") return verify_crypt(password, hash);
  // {PLAIN}, {MD5}, {SHA}... are refused: a stolen database must not be a
  // list of passwords, so these never verify.
  return false;
}

std::string password_weakness(std::string_view pw, std::string_view username) {
  if (pw.size() < 12) return "password must have at least 12 characters";
  if (pw.size() > 1024) return "password is too long";
  bool lower = false, upper_c = false, digit = false, other = false;
  for (unsigned char c : pw) {
    if (c < 0x20 || c == 0x7F) return "password must not contain control characters";
    if (std::islower(c))
      lower = true;
    else if (std::isupper(c))
      upper_c = true;
    else if (std::isdigit(c))
      digit = true;
    else
      other = true;
  }
  if (pw.find_first_not_of(pw.front()) == std::string_view::npos)
    return "password is a single repeated character";
  if (!username.empty()) {
    std::string lpw(pw), lu(username);
    for (auto& c : lpw) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : lu) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lu.size() >= 3 && lpw.find(lu) != std::string::npos) return "password must not contain the user name";
  }
  int classes = lower + upper_c + digit + other;
  if (pw.size() < 20 && classes < 3) {
    return "password needs 3 of: lower case, upper case, digits, other characters (or 20+ characters)";
  }
  return "";
}

std::string generate_password() {
  static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.!~*+=@#%";
  static_assert(sizeof alphabet - 1 >= 64);
  while (true) {
    unsigned char rnd[20];
    if (getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) continue;
    std::string pw;
    for (unsigned char b : rnd) pw.push_back(alphabet[b & 63]);  // 64 | 256: no modulo bias
    if (password_weakness(pw, "").empty()) return pw;
  }
}

}  // namespace mailfort::directory
