// The control socket's request parser (control/ctl_protocol) and the client's
// reply parser: any bytes a peer sends. A request that parses reads back
// unchanged from request_line(); an error says why on one printable line.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "control/ctl_protocol.hpp"
#include "util/printable.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string line(reinterpret_cast<const char*>(data), size);
    std::string error;
    if (auto r = parse_request(line, error)) {
        std::string again_error;
        auto again = parse_request(request_line(*r), again_error);
        if (!again || again->kind != r->kind || again->json != r->json || again->limit != r->limit) abort();
        (void)apply_request(Caps{}, *r);
    } else {
        // the reply's one line: UTF-8 without control characters, whatever the peer sent
        if (error.empty() || !is_valid_utf8(error)) abort();
        for (unsigned char c : error)
            if (c < 0x20 || c == 0x7f) abort();
        CtlReply back = parse_reply(error_reply(error));
        if (back.kind != CtlReply::Kind::Error || back.text != error) abort();
    }
    CtlReply reply = parse_reply(line);
    if (reply.kind == CtlReply::Kind::Garbled && !is_valid_utf8(reply.text)) abort();
    return 0;
}
