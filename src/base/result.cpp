#include "base/result.h"

namespace mailfort {

const char* errc_name(Errc e) {
  switch (e) {
    case Errc::NotFound:
      return "not found";
    case Errc::Exists:
      return "already exists";
    case Errc::Invalid:
      return "invalid";
    case Errc::WeakPassword:
      return "weak password";
    case Errc::Denied:
      return "denied";
    case Errc::Temp:
      return "temporary failure";
    case Errc::Perm:
      return "permanent failure";
    case Errc::OverQuota:
      return "over quota";
  }
  return "error";
}

}  // namespace mailfort
