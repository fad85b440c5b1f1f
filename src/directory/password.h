// Password hashing and verification in Dovecot's "{SCHEME}hash" notation.
//
// Verifies {SHA512-CRYPT}, {SHA256-CRYPT}, {BLF-CRYPT}, {CRYPT}, {ARGON2ID},
// {ARGON2I} and bare crypt(3) strings ($6$, $5$, $2b$/$2y$, $y$, $argon2id$),
// comparing in constant time. New hashes are Argon2id. Plain-text and weak
// schemes ({PLAIN}, {MD5}...) are refused on verify: they never match.
#pragma once
#include <string>
#include <string_view>

#include "base/result.h"

namespace mailfort::directory {

// Argon2id (t=3, m=64 MiB, p=1) with a random salt, "{ARGON2ID}$argon2id$v=19$...".
Result<std::string> hash_password(std::string_view password);

bool verify_password(std::string_view password, std::string_view stored);

// Strength policy applied on set: at least 12 characters and 3 of the 4
// classes (lower, upper, digit, other), or at least 20 characters; not the
// account's local part; not a run of one character. Returns a reason or "".
std::string password_weakness(std::string_view password, std::string_view username);

// A random password that passes the policy (20 chars from a 64-symbol set).
std::string generate_password();

}  // namespace mailfort::directory
