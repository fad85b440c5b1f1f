// The one translation unit that compiles Asio's implementation
// (ASIO_SEPARATE_COMPILATION); the SSL part lives in src/tls.
#include <asio/impl/src.hpp>
