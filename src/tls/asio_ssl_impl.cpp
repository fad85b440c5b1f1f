// The one translation unit that compiles Asio's SSL implementation.
#include <asio/ssl/impl/src.hpp>
