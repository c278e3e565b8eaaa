// `swamp-bpf ctl`: one request to a running controller's control socket.
#include "cli/commands.hpp"
#include "control/ctl_protocol.hpp"
#include "sys/unix_socket.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {
constexpr int kReplyTimeoutMs = 5000;  // the controller answers within its loop's next turn
}

int run_ctl(const CtlOptions& o, std::ostream& out) {
    CtlReply reply = parse_reply(unix_request(o.socket, o.request, kReplyTimeoutMs));
    switch (reply.kind) {
    case CtlReply::Kind::Ok: out << reply.text; return 0;
    case CtlReply::Kind::Refused:
        throw UserError(ExitCode::Permission, "the swamp-bpf on " + o.socket + " refused us: " + reply.text);
    case CtlReply::Kind::Error: throw UserError(ExitCode::Usage, "the swamp-bpf on " + o.socket + " says: " + reply.text);
    case CtlReply::Kind::Garbled: break;
    }
    throw UserError(ExitCode::Failure, "the swamp-bpf on " + o.socket + " sent " + reply.text);
}

}  // namespace swamp
