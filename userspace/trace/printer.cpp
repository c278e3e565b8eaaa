#include "trace/printer.hpp"

#include <cstdio>
#include <iostream>

#include "source/decode.hpp"
#include "source/event_json.hpp"
#include "trace/text.hpp"
#include "util/printable.hpp"

namespace swamp {

TracePrinter::TracePrinter(const PrinterOptions& opts, std::ostream& out, std::ostream* record, uint64_t start_ns)
    : opts_(opts), out_(out), record_(record), start_ns_(start_ns) {
    if (!opts_.json) out_ << text_header() << '\n';
}

void TracePrinter::name(uint32_t pid, const std::string& comm) { comms_[pid] = comm; }

const std::string& TracePrinter::comm_of(uint32_t pid) {
    static const std::string unknown = "?";
    auto it = comms_.find(pid);
    return it == comms_.end() ? unknown : it->second;
}

bool TracePrinter::on_raw(std::span<const std::byte> raw) {
    Decoded d = decode(raw);
    if (!d.event) {
        if (decode_errors_++ == 0) std::cerr << "swamp-bpf: undecodable event: " << d.error << '\n';
        return false;
    }
    on_event(*d.event, raw);
    return true;
}

void TracePrinter::on_event(const Event& e, std::span<const std::byte> raw) {
    uint32_t pid = event_pid(e);
    if (auto* x = std::get_if<ExecEvent>(&e)) comms_[pid] = x->comm;
    if (auto* f = std::get_if<ForkEvent>(&e); f && !f->thread) comms_[pid] = f->comm;

    bool hidden = std::holds_alternative<ForkEvent>(e) && std::get<ForkEvent>(e).thread && !opts_.show_threads;
    if (!hidden) {
        const std::string& comm = comm_of(pid);
        if (opts_.json)
            out_ << json_line(event_to_json(e, start_ns_, comm)) << '\n';
        else
            out_ << text_line(e, start_ns_, comm) << '\n';
        printed_++;
    }
    if (record_) {
        auto j = event_to_json(e, start_ns_, comm_of(pid));
        j["raw"] = hex_encode(raw.empty() ? std::span<const std::byte>(encode(e)) : raw);
        *record_ << json_line(j) << '\n';
    }
    if (std::holds_alternative<ExitEvent>(e)) comms_.erase(pid);
}

void TracePrinter::on_drops(uint64_t total) {
    if (total <= drops_shown_) return;
    if (opts_.json)
        out_ << json_line(nlohmann::json{{"v", kJsonSchemaVersion}, {"event", "drops"}, {"dropped", total}}) << '\n';
    else
        out_ << "!! " << total << " events dropped so far: the ring buffer was full (raise --ringbuf-size)\n";
    drops_shown_ = total;
}

void TracePrinter::on_decision(const Decision& d) {
    auto j = nlohmann::json{{"v", kJsonSchemaVersion},
                            {"t", d.ts_ns >= start_ns_ ? (d.ts_ns - start_ns_) / 1e9 : 0.0},
                            {"ts_ns", d.ts_ns},
                            {"event", "decision"},
                            {"action", d.action},
                            {"job", d.job},
                            {"pid", d.pid},
                            {"comm", d.name},
                            {"rss", d.rss},
                            {"headroom", d.headroom},
                            {"reason", d.reason}};
    if (!d.target.empty()) j["target"] = d.target;
    if (!d.package.empty()) j["package"] = d.package;
    if (!d.rule.empty()) j["rule"] = d.rule;
    if (d.delivered_ts_ns) j["delivered_ts_ns"] = d.delivered_ts_ns;
    if (d.trigger_ts_ns) j["trigger_ts_ns"] = d.trigger_ts_ns;
    if (opts_.json) {
        out_ << json_line(j) << '\n';
    } else {
        std::string upper = d.action;
        for (char& c : upper) c = char(toupper(c));
        char buf[160];
        snprintf(buf, sizeof buf, "%9.3f %7u %7s %-15.15s %-6s %8s  ", d.ts_ns >= start_ns_ ? (d.ts_ns - start_ns_) / 1e9 : 0.0,
                 d.pid, "", comm_column(d.name).c_str(), upper.c_str(), human_bytes(d.rss).c_str());
        std::string what = d.target + (!d.target.empty() && !d.package.empty() ? ", " : "") + d.package;
        out_ << buf << "job " << d.job << (what.empty() ? "" : " (" + printable(what) + ")") << ": " << printable(d.reason)
             << '\n';
    }
    printed_++;
    if (record_) *record_ << json_line(j) << '\n';
}

void TracePrinter::on_package(uint64_t ts_ns, uint32_t pid, const std::string& package) {
    double t = ts_ns >= start_ns_ ? (ts_ns - start_ns_) / 1e9 : 0.0;
    auto j = nlohmann::json{{"v", kJsonSchemaVersion}, {"t", t},     {"ts_ns", ts_ns},
                            {"event", "package"},      {"pid", pid}, {"package", package}};
    if (opts_.json) {
        out_ << json_line(j) << '\n';
    } else {
        char buf[160];
        snprintf(buf, sizeof buf, "%9.3f %7u %7s %-15.15s %-6s %8s  ", t, pid, "", comm_column(comm_of(pid)).c_str(),
                 "PACKAGE", "");
        out_ << buf << printable(package) << '\n';
    }
    printed_++;
    if (record_) *record_ << json_line(j) << '\n';
}

void TracePrinter::on_page_out(const PageOutReport& r, const std::string& comm) {
    double t = r.end_ns >= start_ns_ ? (r.end_ns - start_ns_) / 1e9 : 0.0;
    double took = (r.end_ns - r.start_ns) / 1e9;
    auto j = nlohmann::json{{"v", kJsonSchemaVersion}, {"t", t},
                            {"ts_ns", r.end_ns},     {"event", "pageout"},
                            {"job", r.job},          {"pid", r.pid},
                            {"comm", comm},          {"method", r.method},
                            {"outcome", r.outcome},  {"rss_before", r.rss_before},
                            {"rss_after", r.rss_after}, {"paged_out", r.paged_out()},
                            {"swap_after", r.swap_after}, {"duration_ns", r.end_ns - r.start_ns}};
    if (opts_.json) {
        out_ << json_line(j) << '\n';
    } else {
        char buf[160], seconds[32];
        snprintf(seconds, sizeof seconds, "%.1f", took);
        snprintf(buf, sizeof buf, "%9.3f %7d %7s %-15.15s %-6s %8s  ", t, int(r.pid), "", comm_column(comm).c_str(), "PAGEOUT",
                 human_bytes(r.paged_out()).c_str());
        out_ << buf << "job " << r.job << ": " << printable(r.outcome) << ", RSS " << human_bytes(r.rss_before) << " -> "
             << human_bytes(r.rss_after) << ", swap " << human_bytes(r.swap_after) << ", " << r.method << " in "
             << seconds << " s\n";
    }
    printed_++;
    if (record_) *record_ << json_line(j) << '\n';
}

void TracePrinter::on_memory(uint64_t ts_ns, int64_t headroom, uint64_t scale, double psi_full) {
    if (!record_ && !opts_.json) return;
    std::string line = json_line(nlohmann::json{{"v", kJsonSchemaVersion}, {"event", "memory"}, {"ts_ns", ts_ns},
                                                {"headroom", headroom}, {"scale", scale}, {"psi_full_avg10", psi_full}});
    if (opts_.json) out_ << line << '\n';  // `report` draws the budget from these
    if (record_) *record_ << line << '\n';
}

std::string record_start_line(uint64_t start_ns, int64_t root_pid) {
    return json_line(
        nlohmann::json{{"v", kJsonSchemaVersion}, {"event", "start"}, {"ts_ns", start_ns}, {"root_pid", root_pid}});
}

}  // namespace swamp
