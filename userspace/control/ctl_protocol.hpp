// What `swamp-bpf ctl` and a running controller say over the control socket
// (docs/control.md, "Live control"): one request line, one reply, then the server
// closes. Pure: parsing and formatting only; the socket is sys/unix_socket.
//
// Requests: "status", "status json", "limit N" (0: no cap), "pause", "resume"
// (clears pause and drain), "drain", "run JOB" (run that job now, until it ends).
// Replies:  "ok\n" + body, "error: WHAT\n", or "refused: uid N is not root…\n".
// Root may send every request; so may the build's owner, when there is one.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/policy.hpp"

namespace swamp {

struct CtlRequest {
    enum class Kind { Status, Limit, Pause, Resume, Drain, Run } kind = Kind::Status;
    bool json = false;  // status as one JSON object
    int limit = 0;      // Limit: max running jobs, 0 = no cap
    uint64_t job = 0;   // Run: the job's id (ctl status's JOB column)
};

// One request line (a trailing '\r' or spaces are ignored); nullopt and
// `error` set for anything else.
std::optional<CtlRequest> parse_request(std::string_view line, std::string& error);
// The line the client sends for `r`; parse_request reads it back to `r`.
std::string request_line(const CtlRequest& r);
// The caps after `r` (Status leaves them as they are).
Caps apply_request(Caps caps, const CtlRequest& r);
// "at most 2 running jobs, paused" / "no cap"
std::string describe_caps(const Caps& c);

std::string ok_reply(const std::string& body);
std::string error_reply(const std::string& what);
// "refused: uid N is not root" (and, with an owner, "nor the build's owner")
std::string refused_reply(uid_t uid, uid_t owner = 0);

struct CtlReply {
    enum class Kind { Ok, Error, Refused, Garbled } kind = Kind::Garbled;
    std::string text;  // Ok: the body; otherwise the message, without its prefix
};
CtlReply parse_reply(const std::string& reply);

}  // namespace swamp
