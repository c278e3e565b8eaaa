#include "control/ctl_protocol.hpp"

#include <charconv>
#include <sstream>
#include <vector>

#include "config/settings.hpp"
#include "util/printable.hpp"

namespace swamp {

namespace {

std::vector<std::string> words_of(std::string_view line) {
    std::istringstream in{std::string(line)};
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

const char* kUsage = "requests are: status [json], limit N, pause, resume, drain, run JOB";

}  // namespace

std::optional<CtlRequest> parse_request(std::string_view line, std::string& error) {
    auto words = words_of(line);
    CtlRequest r;
    auto bad = [&](const std::string& what) -> std::optional<CtlRequest> {
        error = what;
        return std::nullopt;
    };
    if (words.empty()) return bad(std::string("empty request; ") + kUsage);
    const std::string& verb = words[0];
    size_t args = words.size() - 1;
    if (verb == "status") {
        if (args > 1 || (args == 1 && words[1] != "json"))
            return bad("status takes nothing or \"json\"");
        r.kind = CtlRequest::Kind::Status;
        r.json = args == 1;
        return r;
    }
    if (verb == "limit") {
        if (args != 1) return bad("limit takes one number: the most running jobs (0: no cap)");
        const std::string& n = words[1];
        int v = -1;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (ec != std::errc() || end != n.data() + n.size() || v < 0 || v > kMaxRunningBounds.hi)
            return bad("limit " + printable(n) + ": give 0 (no cap) or 1 to " + std::to_string(kMaxRunningBounds.hi));
        r.kind = CtlRequest::Kind::Limit;
        r.limit = v;
        return r;
    }
    if (verb == "run") {
        if (args != 1) return bad("run takes one job number (the JOB column of ctl status)");
        const std::string& n = words[1];
        uint64_t v = 0;
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
        if (ec != std::errc() || end != n.data() + n.size() || v == 0)
            return bad("run " + printable(n) + ": give a job number (the JOB column of ctl status)");
        r.kind = CtlRequest::Kind::Run;
        r.job = v;
        return r;
    }
    static const std::pair<const char*, CtlRequest::Kind> plain[] = {
        {"pause", CtlRequest::Kind::Pause}, {"resume", CtlRequest::Kind::Resume}, {"drain", CtlRequest::Kind::Drain}};
    for (auto [name, kind] : plain) {
        if (verb != name) continue;
        if (args) return bad(verb + " takes no arguments");
        r.kind = kind;
        return r;
    }
    return bad("unknown request \"" + printable(verb) + "\"; " + kUsage);
}

std::string request_line(const CtlRequest& r) {
    switch (r.kind) {
    case CtlRequest::Kind::Status: return r.json ? "status json" : "status";
    case CtlRequest::Kind::Limit: return "limit " + std::to_string(r.limit);
    case CtlRequest::Kind::Pause: return "pause";
    case CtlRequest::Kind::Resume: return "resume";
    case CtlRequest::Kind::Drain: return "drain";
    case CtlRequest::Kind::Run: return "run " + std::to_string(r.job);
    }
    return "status";
}

Caps apply_request(Caps caps, const CtlRequest& r) {
    switch (r.kind) {
    case CtlRequest::Kind::Status:
    case CtlRequest::Kind::Run: break;
    case CtlRequest::Kind::Limit: caps.max_running = r.limit; break;
    case CtlRequest::Kind::Pause: caps.pause = true; break;
    case CtlRequest::Kind::Resume: caps.pause = caps.drain = false; break;
    case CtlRequest::Kind::Drain: caps.drain = true; break;
    }
    return caps;
}

std::string describe_caps(const Caps& c) {
    std::string out = c.max_running ? "at most " + std::to_string(c.max_running) + " running job" +
                                          (c.max_running == 1 ? "" : "s")
                                    : "no cap";
    if (c.pause) out += ", paused";
    if (c.drain) out += ", draining";
    return out;
}

std::string ok_reply(const std::string& body) {
    return "ok\n" + body + (body.empty() || body.back() == '\n' ? "" : "\n");
}

std::string error_reply(const std::string& what) { return "error: " + what + "\n"; }

std::string refused_reply(uid_t uid, uid_t owner) {
    return "refused: uid " + std::to_string(uid) + " is not root" +
           (owner ? " nor the owner of the build (uid " + std::to_string(owner) + ")" : "") + "\n";
}

CtlReply parse_reply(const std::string& reply) {
    CtlReply r;
    size_t nl = reply.find('\n');
    std::string first = reply.substr(0, nl);
    std::string rest = nl == std::string::npos ? "" : reply.substr(nl + 1);
    auto after = [&](std::string_view prefix) { return first.substr(prefix.size()); };
    if (first == "ok") {
        r.kind = CtlReply::Kind::Ok;
        r.text = rest;
    } else if (first.rfind("error: ", 0) == 0) {
        r.kind = CtlReply::Kind::Error;
        r.text = after("error: ");
    } else if (first.rfind("refused: ", 0) == 0) {
        r.kind = CtlReply::Kind::Refused;
        r.text = after("refused: ");
    } else {
        r.text = reply.empty() ? "an empty reply" : "an unexpected reply: " + printable(utf8_prefix(first, 80));
    }
    return r;
}

}  // namespace swamp
