// Moved to proto/sasl/sasl.h (module mf_proto_sasl); this forwarding header
// keeps the includes of src/imap and src/outbound working until they name
// proto/sasl/sasl.h (or base64 moves to src/base) themselves.
#pragma once
#include "proto/sasl/sasl.h"
