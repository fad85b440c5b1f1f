// DeflateStream: IMAP COMPRESS=DEFLATE (RFC 4978) as a ByteStream decorator.
// Everything written is raw deflate (RFC 1951, no zlib header) flushed with
// Z_SYNC_FLUSH at the end of every write, so no reply is ever held back in
// the compressor; everything read is inflated from the wrapped stream.
//
// Faces untrusted input: a decompression bomb cannot grow memory. Inflate
// works in fixed-size chunks: one read_some() returns at most the caller's
// buffer of inflated bytes (the Connection's line and literal limits then
// count inflated bytes), and compressed input is read into a fixed buffer.
// Corrupt input ends the stream with an error (the session closes).
//
// Memory per compressed session (zlib's own formula): deflate with a 16 KiB
// window and memLevel 7 is 64 + 64 KiB, inflate accepts any window the
// client chose (32 KiB + 7 KiB), plus two 16 KiB buffers: about 200 KiB.
// A smaller compression window than the client's is allowed by RFC 1951
// (the window only bounds back-references).
#pragma once
#include <memory>
#include <string>

#include "server/byte_stream.h"

namespace mailfort::server {

// Wraps `inner` (plain or TLS). `pending` holds compressed bytes already
// read from `inner` (pipelined after the command that turned compression
// on); they are inflated first. start_tls on the result fails: TLS must
// come before compression.
std::unique_ptr<ByteStream> make_deflate_stream(std::unique_ptr<ByteStream> inner, std::string pending);

}  // namespace mailfort::server
