#include "source/replay_source.hpp"

#include <nlohmann/json.hpp>

#include "source/decode.hpp"
#include "source/event_json.hpp"
#include "util/error.hpp"

namespace swamp {

ReplaySource::ReplaySource(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

int ReplaySource::drain(const EventSink& sink) {
    auto item = next();
    if (!item) return 0;
    sink(item->event, item->raw);
    return 1;
}

std::optional<ReplayItem> ReplaySource::next() {
    std::string text;
    while (std::getline(in_, text)) {
        line_++;
        if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto fail = [&](const std::string& why) {
            return UserError(ExitCode::Failure, name_ + ":" + std::to_string(line_) + ": " + why);
        };
        nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded() || !j.is_object()) throw fail("not a JSON object");
        auto ev = j.find("event");
        if (ev == j.end() || !ev->is_string()) throw fail("no \"event\" string");
        std::string kind = ev->get<std::string>();
        if (kind == "start" && j.contains("ts_ns") && j["ts_ns"].is_number_unsigned())
            start_ns_ = j["ts_ns"].get<uint64_t>();
        if (kind != "exec" && kind != "fork" && kind != "exit" && kind != "rss" && kind != "faults") {
            if (on_annotation_) on_annotation_(j, line_);  // start, decisions, drops and other annotations
            continue;
        }
        auto comm = j.find("comm");
        ReplayItem item{ExecEvent{}, {}, comm != j.end() && comm->is_string() ? comm->get<std::string>() : ""};
        if (j.contains("raw")) {
            auto bytes = j["raw"].is_string() ? hex_decode(j["raw"].get<std::string>()) : std::nullopt;
            if (!bytes) throw fail("\"raw\" is not a hex string");
            Decoded d = decode(*bytes);
            if (!d.event) throw fail(d.error);
            item.event = std::move(*d.event);
            item.raw = std::move(*bytes);
        } else {
            std::string error;
            auto e = event_from_json(j, error);
            if (!e) throw fail(error);
            item.event = std::move(*e);
        }
        if (!start_ns_) start_ns_ = event_ts(item.event);
        return item;
    }
    return std::nullopt;
}

}  // namespace swamp
