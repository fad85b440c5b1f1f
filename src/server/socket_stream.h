// The production ByteStream: a TCP socket, plain or TLS (tls::Stream).
#pragma once
#include <asio/ip/tcp.hpp>

#include <memory>

#include "server/byte_stream.h"

namespace mailfort::server {

std::unique_ptr<ByteStream> make_socket_stream(asio::ip::tcp::socket socket);

}  // namespace mailfort::server
