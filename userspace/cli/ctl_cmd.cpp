// `swamp-bpf ctl`: one request to a running controller's control socket.
#include "cli/commands.hpp"
#include "control/ctl_protocol.hpp"
#include "sys/unix_socket.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {
constexpr int kReplyTimeoutMs = 5000;  // the controller answers within its loop's next turn
}

std::string ctl_exchange(const std::string& socket, const std::string& request) {
    CtlReply reply = parse_reply(unix_request(socket, request, kReplyTimeoutMs));
    switch (reply.kind) {
    case CtlReply::Kind::Ok: return reply.text;
    case CtlReply::Kind::Refused:
        throw UserError(ExitCode::Permission, "the swamp-bpf on " + socket + " refused us: " + reply.text);
    case CtlReply::Kind::Error: throw UserError(ExitCode::Usage, "the swamp-bpf on " + socket + " says: " + reply.text);
    case CtlReply::Kind::Garbled: break;
    }
    throw UserError(ExitCode::Failure, "the swamp-bpf on " + socket + " sent " + reply.text);
}

int run_ctl(const CtlOptions& o, std::ostream& out) {
    out << ctl_exchange(o.socket, o.request);
    return 0;
}

}  // namespace swamp
