#include <gtest/gtest.h>

#include <sstream>

#include "source/decode.hpp"
#include "source/replay_source.hpp"
#include "test_util.hpp"
#include "source/event_json.hpp"
#include "trace/printer.hpp"
#include "util/error.hpp"

using namespace swamp;
using nlohmann::json;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string comm_of(const Event& e) {
    if (auto* x = std::get_if<ExecEvent>(&e)) return x->comm;
    if (auto* x = std::get_if<ForkEvent>(&e)) return x->comm;
    if (auto* x = std::get_if<ExitEvent>(&e)) return x->comm;
    return "";
}

// The line a recording holds for `e`.
std::string raw_line(const Event& e, uint64_t start_ns, const std::string& comm) {
    json j = event_to_json(e, start_ns, comm);
    j["raw"] = hex_encode(encode(e));
    return j.dump();
}

std::vector<ReplayItem> read_all(const std::string& text, std::optional<uint64_t>* start = nullptr) {
    std::istringstream in(text);
    ReplaySource src(in, "rec.jsonl");
    std::vector<ReplayItem> items;
    while (auto it = src.next()) items.push_back(std::move(*it));
    if (start) *start = src.start_ns();
    return items;
}

// Runs `text` through a ReplaySource and returns the UserError's message ("" if none).
std::string replay_error(const std::string& text) {
    try {
        read_all(text);
    } catch (const UserError& e) {
        EXPECT_EQ(e.code(), ExitCode::Failure);
        return e.what();
    }
    return "";
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

}  // namespace

TEST(Replay, StartLineSetsStart) {
    std::string text = record_start_line(5'000'000'000, 4242) + "\n" +
                       raw_line(RssEvent{6'000'000'000, 4242, 1, 1, 0, 0, 0, 1}, 5'000'000'000, "make") + "\n";
    std::optional<uint64_t> start;
    auto items = read_all(text, &start);
    ASSERT_EQ(items.size(), 1u);
    ASSERT_TRUE(start);
    EXPECT_EQ(*start, 5'000'000'000u);
}

TEST(Replay, WithoutStartLineTheFirstEventIsTheOrigin) {
    std::istringstream in(raw_line(RssEvent{7'000, 1, 1, 1, 0, 0, 0, 1}, 0, "x") + "\n" +
                          raw_line(RssEvent{9'000, 1, 2, 2, 0, 0, 0, 2}, 0, "x") + "\n");
    ReplaySource src(in);
    EXPECT_FALSE(src.start_ns());
    ASSERT_TRUE(src.next());
    ASSERT_TRUE(src.start_ns());
    EXPECT_EQ(*src.start_ns(), 7'000u);
    ASSERT_TRUE(src.next());
    EXPECT_EQ(*src.start_ns(), 7'000u);
    EXPECT_FALSE(src.next());
    EXPECT_EQ(src.line(), 2u);
}

TEST(Replay, RawLinesDecodeToTheSameEvents) {
    auto events = swamp::test::sample_events();
    std::string text = record_start_line(1'000'000'000, 4000) + "\n";
    for (const auto& e : events) text += raw_line(e, 1'000'000'000, comm_of(e).empty() ? "cc1plus" : comm_of(e)) + "\n";
    auto items = read_all(text);
    ASSERT_EQ(items.size(), events.size());
    for (size_t i = 0; i < events.size(); i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(items[i].event, events[i]);
        EXPECT_EQ(items[i].raw, encode(events[i]));
        EXPECT_EQ(items[i].comm, comm_of(events[i]).empty() ? "cc1plus" : comm_of(events[i]));
    }
}

TEST(Replay, RawBytesWinOverTheFields) {
    // The fields say pid 1; the raw bytes, the kernel's truth, say pid 2.
    json j = event_to_json(RssEvent{10, 1, 100, 100, 0, 0, 0, 100}, 0, "x");
    j["raw"] = hex_encode(encode(RssEvent{10, 2, 200, 200, 0, 0, 0, 200}));
    auto items = read_all(j.dump() + "\n");
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].event, Event(RssEvent{10, 2, 200, 200, 0, 0, 0, 200}));
}

TEST(Replay, LinesWithoutRawUseTheFields) {
    auto events = swamp::test::sample_events();
    std::string text;
    for (const auto& e : events) text += event_to_json(e, 0, comm_of(e)).dump() + "\n";
    auto items = read_all(text);
    ASSERT_EQ(items.size(), events.size());
    for (size_t i = 0; i < events.size(); i++) {
        SCOPED_TRACE(i);
        EXPECT_EQ(items[i].event, events[i]);
        EXPECT_TRUE(items[i].raw.empty());
    }
}

// A hand-written fixture need not name the process of an rss line.
TEST(Replay, HandWrittenLineWithoutComm) {
    std::vector<ReplayItem> items;
    try {
        items = read_all(R"({"event":"rss","ts_ns":5,"pid":7,"rss":4096})"
                         "\n");
    } catch (const std::exception& e) {
        FAIL() << "threw: " << e.what();
    }
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].event, Event(RssEvent{5, 7, 4096, 0, 0, 0, 0, 0}));
    EXPECT_EQ(items[0].comm, "");
}

TEST(Replay, AnnotationsAndBlankLinesAreSkipped) {
    std::string text = "\n" + record_start_line(100, 1) + "\n" +
                       R"({"v":1,"event":"decision","t":0.1,"action":"pause","pid":5})" "\n"
                       "   \t \r\n" +
                       raw_line(ForkEvent{200, 5, 5, 1, "sh", false}, 100, "sh") + "\n" +
                       R"({"v":1,"event":"drops","dropped":12})" "\n"
                       "\n" +
                       raw_line(ExitEvent{300, 5, 1, "sh", 0, 4096, 1, 0}, 100, "sh") + "\n\n";
    std::istringstream in(text);
    ReplaySource src(in);
    auto a = src.next();
    ASSERT_TRUE(a);
    EXPECT_TRUE(std::holds_alternative<ForkEvent>(a->event));
    EXPECT_EQ(src.line(), 5u);
    auto b = src.next();
    ASSERT_TRUE(b);
    EXPECT_TRUE(std::holds_alternative<ExitEvent>(b->event));
    EXPECT_EQ(src.line(), 8u);
    EXPECT_FALSE(src.next());
    ASSERT_TRUE(src.start_ns());
    EXPECT_EQ(*src.start_ns(), 100u);
}

TEST(Replay, MalformedJsonNamesTheLine) {
    std::string text = record_start_line(100, 1) + "\n" + raw_line(ForkEvent{200, 5, 5, 1, "sh", false}, 100, "sh") +
                       "\n" + "{\"event\": \"fork\", \n";
    std::string msg = replay_error(text);
    EXPECT_TRUE(contains(msg, "rec.jsonl:3:")) << msg;

    msg = replay_error("\n\n[1,2,3]\n");
    EXPECT_TRUE(contains(msg, ":3:")) << msg;

    msg = replay_error("not json at all\n");
    EXPECT_TRUE(contains(msg, ":1:")) << msg;
}

TEST(Replay, EventLineMissingAFieldNamesTheLineAndField) {
    std::string msg = replay_error("\n" R"({"event":"exit","ts_ns":5,"pid":7,"comm":"cc","ppid":1,"peak_rss":0})" "\n");
    EXPECT_TRUE(contains(msg, ":2:")) << msg;
    EXPECT_TRUE(contains(msg, "wait_status")) << msg;
}

TEST(Replay, BadHexRawThrows) {
    json j = event_to_json(ForkEvent{1, 2, 2, 1, "x", false}, 0, "x");
    j["raw"] = "zz" + hex_encode(encode(ForkEvent{1, 2, 2, 1, "x", false}));
    std::string msg = replay_error(j.dump() + "\n");
    EXPECT_TRUE(contains(msg, ":1:")) << msg;
    EXPECT_TRUE(contains(msg, "raw")) << msg;

    j["raw"] = "abc";
    msg = replay_error("\n" + j.dump() + "\n");
    EXPECT_TRUE(contains(msg, ":2:")) << msg;

    j["raw"] = 1234;
    msg = replay_error(j.dump() + "\n");
    EXPECT_TRUE(contains(msg, "raw")) << msg;
}

TEST(Replay, UndecodableRawThrowsWithTheDecodeError) {
    json j = event_to_json(ForkEvent{1, 2, 2, 1, "x", false}, 0, "x");
    auto bytes = encode(ForkEvent{1, 2, 2, 1, "x", false});
    bytes.resize(8);
    j["raw"] = hex_encode(bytes);
    std::string msg = replay_error(j.dump() + "\n");
    EXPECT_TRUE(contains(msg, ":1:")) << msg;
    EXPECT_TRUE(contains(msg, "shorter than its header")) << msg;
}

// The header promises a UserError naming the line for any malformed line.
TEST(Replay, NonStringEventFieldThrowsUserError) {
    try {
        read_all(R"({"event":5,"ts_ns":1,"pid":2})" "\n");
        SUCCEED();  // skipping it as an unknown annotation would also be acceptable
    } catch (const UserError& e) {
        EXPECT_TRUE(contains(e.what(), ":1:")) << e.what();
    } catch (const std::exception& e) {
        FAIL() << "not a UserError: " << e.what();
    }
}

// ---- TracePrinter ----

TEST(Printer, JsonRssLineUsesTheForksComm) {
    std::ostringstream out;
    TracePrinter p(PrinterOptions{true, false}, out, nullptr, 1'000'000'000);
    p.on_event(ForkEvent{1'100'000'000, 200, 200, 100, "cc1plus", false});
    p.on_event(RssEvent{1'200'000'000, 200, 64ull << 20, 60ull << 20, 4ull << 20, 0, 0, 64ull << 20});
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u) << out.str();  // no text header in JSON mode
    json fork = json::parse(lines[0]);
    json rss = json::parse(lines[1]);
    EXPECT_EQ(fork["event"], "fork");
    EXPECT_EQ(rss["event"], "rss");
    EXPECT_EQ(rss["pid"], 200);
    EXPECT_EQ(rss["comm"], "cc1plus");
    EXPECT_NEAR(rss["t"].get<double>(), 0.2, 1e-9);
    EXPECT_EQ(p.printed(), 2u);
}

TEST(Printer, UnknownPidsAndExitedPids) {
    std::ostringstream out;
    TracePrinter p(PrinterOptions{true, false}, out, nullptr, 0);
    p.on_event(RssEvent{1, 300, 1, 1, 0, 0, 0, 1});
    p.name(300, "ld");
    p.on_event(RssEvent{2, 300, 2, 2, 0, 0, 0, 2});
    p.on_event(ExitEvent{3, 300, 1, "ld", 0, 2, 0, 0});
    p.on_event(RssEvent{4, 300, 3, 3, 0, 0, 0, 3});  // a reused pid: the old name is gone
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(json::parse(lines[0])["comm"], "?");
    EXPECT_EQ(json::parse(lines[1])["comm"], "ld");
    EXPECT_EQ(json::parse(lines[2])["comm"], "ld");
    EXPECT_EQ(json::parse(lines[3])["comm"], "?");
}

TEST(Printer, ExecRenamesThePid) {
    std::ostringstream out;
    TracePrinter p(PrinterOptions{true, false}, out, nullptr, 0);
    p.on_event(ForkEvent{1, 10, 10, 1, "make", false});
    p.on_event(ExecEvent{2, 10, 1, "cc1plus", "/usr/bin/cc1plus", {"cc1plus"}, false});
    p.on_event(FaultEvent{3, 10, 1000, 5, 0});
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(json::parse(lines[0])["comm"], "make");
    EXPECT_EQ(json::parse(lines[1])["comm"], "cc1plus");
    EXPECT_EQ(json::parse(lines[2])["comm"], "cc1plus");
}

TEST(Printer, ThreadForksHiddenUnlessShowThreads) {
    ForkEvent thread{10, 200, 201, 200, "cc1plus", true};
    {
        std::ostringstream out;
        TracePrinter p(PrinterOptions{true, false}, out, nullptr, 0);
        p.on_event(ForkEvent{5, 200, 200, 100, "make", false});
        p.on_event(thread);
        EXPECT_EQ(p.printed(), 1u);
        auto lines = lines_of(out.str());
        ASSERT_EQ(lines.size(), 1u);
        EXPECT_EQ(json::parse(lines[0])["thread"], false);
    }
    {
        std::ostringstream out;
        TracePrinter p(PrinterOptions{true, true}, out, nullptr, 0);
        p.on_event(ForkEvent{5, 200, 200, 100, "make", false});
        p.on_event(thread);
        EXPECT_EQ(p.printed(), 2u);
        auto lines = lines_of(out.str());
        ASSERT_EQ(lines.size(), 2u);
        json j = json::parse(lines[1]);
        EXPECT_EQ(j["thread"], true);
        EXPECT_EQ(j["tid"], 201);
        // a thread fork does not rename the process
        EXPECT_EQ(j["comm"], "make");
    }
}

TEST(Printer, RecordGetsEveryEventWithRaw) {
    auto events = swamp::test::sample_events();
    std::ostringstream out, rec;
    TracePrinter p(PrinterOptions{false, false}, out, &rec, 1'000'000'000);
    for (const auto& e : events) p.on_event(e);
    auto lines = lines_of(rec.str());
    ASSERT_EQ(lines.size(), events.size());  // the hidden thread fork is recorded too
    for (size_t i = 0; i < events.size(); i++) {
        SCOPED_TRACE(i);
        json j = json::parse(lines[i]);
        ASSERT_TRUE(j.contains("raw"));
        EXPECT_EQ(j["raw"], hex_encode(encode(events[i])));
        EXPECT_EQ(j["event"], event_name(events[i]));
    }
    EXPECT_EQ(p.printed(), events.size() - 1);
    // text mode: header, then one line per shown event
    auto shown = lines_of(out.str());
    ASSERT_EQ(shown.size(), events.size());
    EXPECT_TRUE(contains(shown[0], "DETAILS"));
}

TEST(Printer, RecordKeepsTheKernelsRawBytes) {
    std::ostringstream out, rec;
    TracePrinter p(PrinterOptions{true, false}, out, &rec, 0);
    auto bytes = encode(ForkEvent{7, 8, 8, 1, "sh", false});
    EXPECT_TRUE(p.on_raw(bytes));
    std::vector<std::byte> junk(4);
    EXPECT_FALSE(p.on_raw(junk));
    EXPECT_EQ(p.decode_errors(), 1u);
    EXPECT_EQ(p.printed(), 1u);
    auto lines = lines_of(rec.str());
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(json::parse(lines[0])["raw"], hex_encode(bytes));
}

TEST(Printer, RecordingReplaysToTheSameEvents) {
    auto events = swamp::test::sample_events();
    std::ostringstream out, rec;
    rec << record_start_line(1'000'000'000, 4000) << '\n';
    TracePrinter p(PrinterOptions{true, false}, out, &rec, 1'000'000'000);
    p.on_drops(3);
    for (const auto& e : events) p.on_event(e);
    std::optional<uint64_t> start;
    auto items = read_all(rec.str(), &start);
    ASSERT_EQ(items.size(), events.size());
    for (size_t i = 0; i < events.size(); i++) EXPECT_EQ(items[i].event, events[i]) << i;
    ASSERT_TRUE(start);
    EXPECT_EQ(*start, 1'000'000'000u);
}

// Kernel strings are bytes: a Latin-1 name, or a command line cut inside "é".
TEST(Printer, JsonSurvivesBytesThatAreNotUtf8) {
    ExecEvent e{5, 9, 1, "cc\xff", "/tmp/caf\xe9", {"gcc", "caf\xc3"}, true};
    std::ostringstream out, rec;
    TracePrinter p(PrinterOptions{true, false}, out, &rec, 0);
    ASSERT_NO_THROW(p.on_event(e));
    ASSERT_NO_THROW(p.on_decision(Decision{6, "stop", 1, 9, "cc\xff", 1, 2, "cc\xff grows", 0, 0, "", "", ""}));
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(json::parse(lines[0])["comm"], "cc\xef\xbf\xbd");  // U+FFFD
    EXPECT_EQ(json::parse(lines[0])["argv"][1], "caf\xef\xbf\xbd");
    EXPECT_EQ(json::parse(lines[1])["comm"], "cc\xef\xbf\xbd");
    // The recording's raw bytes keep the name as the kernel sent it.
    auto items = read_all(rec.str());
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].event, Event(e));
}

// A decision names the policy rule that made it; one without (as from a
// hand-written line) has no "rule" field.
TEST(Printer, DecisionLineCarriesItsRule) {
    std::ostringstream out;
    TracePrinter p(PrinterOptions{true, false}, out, nullptr, 0);
    p.on_decision(Decision{6, "hold", 1, 9, "cc1", 1, 2, "held at exec: the CPUs are busy", 0, 0, "", "", "hold_cpu"});
    p.on_decision(Decision{7, "resume", 1, 9, "cc1", 1, 2, "room", 0, 0, "", "", ""});
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(json::parse(lines[0])["rule"], "hold_cpu");
    EXPECT_FALSE(json::parse(lines[1]).contains("rule"));
}

TEST(Printer, DropsShownOncePerIncrease) {
    std::ostringstream out;
    TracePrinter p(PrinterOptions{true, false}, out, nullptr, 0);
    p.on_drops(0);
    EXPECT_EQ(out.str(), "");
    p.on_drops(5);
    p.on_drops(5);
    p.on_drops(4);
    p.on_drops(9);
    auto lines = lines_of(out.str());
    ASSERT_EQ(lines.size(), 2u) << out.str();
    json a = json::parse(lines[0]), b = json::parse(lines[1]);
    EXPECT_EQ(a["event"], "drops");
    EXPECT_EQ(a["dropped"], 5);
    EXPECT_EQ(b["dropped"], 9);
    EXPECT_EQ(a["v"], kJsonSchemaVersion);

    std::ostringstream text;
    TracePrinter t(PrinterOptions{false, false}, text, nullptr, 0);
    t.on_drops(7);
    t.on_drops(7);
    auto tl = lines_of(text.str());
    ASSERT_EQ(tl.size(), 2u);  // header + one warning
    EXPECT_TRUE(contains(tl[1], "7 events dropped")) << tl[1];
    EXPECT_TRUE(contains(tl[1], "--ringbuf-size")) << tl[1];
}

TEST(Printer, StartLine) {
    json j = json::parse(record_start_line(123456789, 4242));
    EXPECT_EQ(j["event"], "start");
    EXPECT_EQ(j["ts_ns"], 123456789);
    EXPECT_EQ(j["root_pid"], 4242);
    EXPECT_EQ(j["v"], kJsonSchemaVersion);
}
