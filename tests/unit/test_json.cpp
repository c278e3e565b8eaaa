#include <gtest/gtest.h>

#include <set>

#include "source/decode.hpp"
#include "test_util.hpp"
#include "source/event_json.hpp"

using namespace swamp;
using nlohmann::json;

namespace {

std::set<std::string> keys_of(const json& j) {
    std::set<std::string> k;
    for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
    return k;
}

std::set<std::string> with_common(std::set<std::string> extra) {
    extra.insert({"v", "t", "ts_ns", "event", "pid", "comm"});
    return extra;
}

std::string comm_of(const Event& e) {
    if (auto* x = std::get_if<ExecEvent>(&e)) return x->comm;
    if (auto* x = std::get_if<ForkEvent>(&e)) return x->comm;
    if (auto* x = std::get_if<ExitEvent>(&e)) return x->comm;
    return "";
}

}  // namespace

TEST(JsonSchema, ExecKeys) {
    json j = event_to_json(ExecEvent{10, 1, 2, "sh", "/bin/sh", {"sh", "-c", "true"}, false}, 0, "sh");
    EXPECT_EQ(keys_of(j), with_common({"ppid", "filename", "argv", "argv_truncated"}));
    EXPECT_EQ(j["event"], "exec");
    EXPECT_EQ(j["argv"], json({"sh", "-c", "true"}));
    EXPECT_EQ(j["argv_truncated"], false);
    EXPECT_EQ(j["filename"], "/bin/sh");
    EXPECT_EQ(j["ppid"], 2);
}

TEST(JsonSchema, ForkKeys) {
    json j = event_to_json(ForkEvent{10, 5, 6, 4, "make", true}, 0, "make");
    EXPECT_EQ(keys_of(j), with_common({"ppid", "tid", "thread"}));
    EXPECT_EQ(j["event"], "fork");
    EXPECT_EQ(j["pid"], 5);
    EXPECT_EQ(j["tid"], 6);
    EXPECT_EQ(j["ppid"], 4);
    EXPECT_EQ(j["thread"], true);
}

TEST(JsonSchema, ExitKeys) {
    json j = event_to_json(ExitEvent{10, 5, 4, "cc", 0x0300, 100, 7, 8}, 0, "cc");
    EXPECT_EQ(keys_of(j), with_common({"ppid", "exit_code", "signal", "wait_status", "peak_rss", "min_flt", "maj_flt"}));
    EXPECT_EQ(j["event"], "exit");
    EXPECT_EQ(j["peak_rss"], 100);
    EXPECT_EQ(j["min_flt"], 7);
    EXPECT_EQ(j["maj_flt"], 8);
}

TEST(JsonSchema, RssKeys) {
    json j = event_to_json(RssEvent{10, 5, 1, 2, 3, 4, 5, 6}, 0, "x");
    EXPECT_EQ(keys_of(j), with_common({"rss", "anon", "file", "shmem", "swap", "peak_rss"}));
    EXPECT_EQ(j["event"], "rss");
    EXPECT_EQ(j["rss"], 1);
    EXPECT_EQ(j["anon"], 2);
    EXPECT_EQ(j["file"], 3);
    EXPECT_EQ(j["shmem"], 4);
    EXPECT_EQ(j["swap"], 5);
    EXPECT_EQ(j["peak_rss"], 6);
}

TEST(JsonSchema, FaultKeys) {
    json j = event_to_json(FaultEvent{10, 5, 250'000'000, 1001, 3}, 0, "x");
    EXPECT_EQ(keys_of(j), with_common({"interval_ns", "min_flt", "maj_flt", "min_flt_per_s", "maj_flt_per_s"}));
    EXPECT_EQ(j["event"], "faults");
    EXPECT_EQ(j["interval_ns"], 250'000'000);
    EXPECT_NEAR(j["min_flt_per_s"].get<double>(), 4004.0, 1e-9);
    EXPECT_NEAR(j["maj_flt_per_s"].get<double>(), 12.0, 1e-9);
}

TEST(JsonSchema, FaultRatesAreRoundedToATenth) {
    json j = event_to_json(FaultEvent{10, 5, 3'000'000'000, 1, 2}, 0, "x");  // 0.333.../s, 0.666.../s
    EXPECT_NEAR(j["min_flt_per_s"].get<double>(), 0.3, 1e-9);
    EXPECT_NEAR(j["maj_flt_per_s"].get<double>(), 0.7, 1e-9);
    json z = event_to_json(FaultEvent{10, 5, 0, 10, 10}, 0, "x");  // no interval: no rate
    EXPECT_EQ(z["min_flt_per_s"].get<double>(), 0.0);
}

TEST(JsonSchema, CommonFields) {
    json j = event_to_json(RssEvent{5'500'000'000, 77, 1, 0, 0, 0, 0, 1}, 2'000'000'000, "cc1");
    EXPECT_EQ(j["v"], kJsonSchemaVersion);
    EXPECT_EQ(j["v"], 1);
    EXPECT_EQ(j["ts_ns"], 5'500'000'000ull);
    EXPECT_EQ(j["pid"], 77);
    EXPECT_EQ(j["comm"], "cc1");  // rss events carry no comm: the given one is used
    EXPECT_DOUBLE_EQ(j["t"].get<double>(), 3.5);
}

TEST(JsonSchema, TimeIsSecondsFromStartRoundedToMicroseconds) {
    json j = event_to_json(ForkEvent{1'001'234'567'890, 1, 1, 0, "a", false}, 1'000'000'000'000, "a");
    EXPECT_NEAR(j["t"].get<double>(), 1.234568, 1e-12);
    json k = event_to_json(ForkEvent{1'000'000'000'499, 1, 1, 0, "a", false}, 1'000'000'000'000, "a");
    EXPECT_NEAR(k["t"].get<double>(), 0.0, 1e-12);
    // an event just before the start has a negative time
    json n = event_to_json(ForkEvent{999'500'000'000, 1, 1, 0, "a", false}, 1'000'000'000'000, "a");
    EXPECT_NEAR(n["t"].get<double>(), -0.5, 1e-12);
}

TEST(JsonSchema, ExitCodeAndSignalComeFromWaitStatus) {
    json j = event_to_json(ExitEvent{1, 2, 1, "x", 0x0300, 0, 0, 0}, 0, "x");
    EXPECT_EQ(j["exit_code"], 3);
    EXPECT_EQ(j["signal"], 0);
    EXPECT_EQ(j["wait_status"], 0x0300);

    json k = event_to_json(ExitEvent{1, 2, 1, "x", 9, 0, 0, 0}, 0, "x");
    EXPECT_EQ(k["exit_code"], 0);
    EXPECT_EQ(k["signal"], 9);
    EXPECT_EQ(k["wait_status"], 9);

    json c = event_to_json(ExitEvent{1, 2, 1, "x", 0x80 | 11, 0, 0, 0}, 0, "x");  // SIGSEGV with core dump
    EXPECT_EQ(c["signal"], 11);
    EXPECT_EQ(c["exit_code"], 0);

    json m = event_to_json(ExitEvent{1, 2, 1, "x", 0xff00, 0, 0, 0}, 0, "x");
    EXPECT_EQ(m["exit_code"], 255);
}

TEST(JsonSchema, EveryEventRoundTripsThroughJson) {
    for (const Event& e : swamp::test::sample_events()) {
        SCOPED_TRACE(event_name(e));
        json j = event_to_json(e, 1'000'000'000, comm_of(e));
        // through text as well, as a recording would
        json back_j = json::parse(j.dump());
        std::string error;
        auto back = event_from_json(back_j, error);
        ASSERT_TRUE(back.has_value()) << error;
        EXPECT_EQ(*back, e);
    }
}

TEST(JsonSchema, LargeValuesSurvive) {
    Event e = RssEvent{~0ull, 0xffffffffu, ~0ull, ~0ull - 1, 1ull << 63, 0, 0, ~0ull};
    std::string error;
    auto back = event_from_json(json::parse(event_to_json(e, 0, "").dump()), error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, e);
}

TEST(JsonSchema, MissingFieldIsNamed) {
    json j = event_to_json(ExitEvent{1, 2, 1, "x", 0, 5, 0, 0}, 0, "x");
    j.erase("wait_status");
    std::string error;
    EXPECT_FALSE(event_from_json(j, error));
    EXPECT_NE(error.find("wait_status"), std::string::npos) << error;

    json r = event_to_json(RssEvent{1, 2, 3, 4, 5, 6, 7, 8}, 0, "x");
    r.erase("rss");
    error.clear();
    EXPECT_FALSE(event_from_json(r, error));
    EXPECT_NE(error.find("\"rss\""), std::string::npos) << error;

    json e = event_to_json(ExecEvent{1, 2, 1, "x", "/x", {"x"}, false}, 0, "x");
    e.erase("argv");
    error.clear();
    EXPECT_FALSE(event_from_json(e, error));
    EXPECT_NE(error.find("argv"), std::string::npos) << error;

    json f = event_to_json(FaultEvent{1, 2, 3, 4, 5}, 0, "x");
    f.erase("ts_ns");
    error.clear();
    EXPECT_FALSE(event_from_json(f, error));
    EXPECT_NE(error.find("ts_ns"), std::string::npos) << error;
}

TEST(JsonSchema, WrongFieldTypeIsAnError) {
    json j = event_to_json(ForkEvent{1, 2, 2, 1, "x", false}, 0, "x");
    j["ppid"] = "one";
    std::string error;
    EXPECT_FALSE(event_from_json(j, error));
    EXPECT_FALSE(error.empty());
}

// A hand-edited line may hold any number; what does not fit is an error, not
// a wrapped value (or, for a float, undefined behaviour).
TEST(JsonSchema, NumbersMustBeWholeAndFit) {
    for (json bad : {json(1.8e96), json(-1), json(-1.0), json(1.5), json(4294967296ull), json(true)}) {
        SCOPED_TRACE(bad.dump());
        json j = event_to_json(ForkEvent{1, 2, 2, 1, "x", false}, 0, "x");
        j["ppid"] = bad;
        std::string error;
        EXPECT_FALSE(event_from_json(j, error));
        EXPECT_NE(error.find("\"ppid\""), std::string::npos) << error;

        j = event_to_json(ForkEvent{1, 2, 2, 1, "x", false}, 0, "x");
        j["tid"] = bad;  // optional fields too
        error.clear();
        EXPECT_FALSE(event_from_json(j, error));
        EXPECT_NE(error.find("\"tid\""), std::string::npos) << error;
    }
    json r = event_to_json(RssEvent{1, 2, 3, 4, 5, 6, 7, 8}, 0, "x");
    r["swap"] = 1.9e19;  // beyond uint64_t
    std::string error;
    EXPECT_FALSE(event_from_json(r, error));
    EXPECT_NE(error.find("\"swap\""), std::string::npos) << error;
}

TEST(JsonSchema, OptionalFieldsDefault) {
    std::string error;
    auto e = event_from_json(json{{"event", "fork"}, {"ts_ns", 5}, {"pid", 9}, {"ppid", 1}}, error);
    ASSERT_TRUE(e) << error;
    EXPECT_EQ(*e, Event(ForkEvent{5, 9, 9, 1, "", false}));  // tid defaults to pid

    auto r = event_from_json(json{{"event", "rss"}, {"ts_ns", 5}, {"pid", 9}, {"rss", 4096}}, error);
    ASSERT_TRUE(r) << error;
    EXPECT_EQ(*r, Event(RssEvent{5, 9, 4096, 0, 0, 0, 0, 0}));
}

TEST(JsonSchema, DecisionLineIsNotAnEvent) {
    std::string error;
    EXPECT_FALSE(event_from_json(json{{"v", 1}, {"event", "decision"}}, error));
    EXPECT_FALSE(error.empty());

    error.clear();
    EXPECT_FALSE(event_from_json(json{{"v", 1}, {"event", "decision"}, {"ts_ns", 1}, {"pid", 2}}, error));
    EXPECT_NE(error.find("decision"), std::string::npos) << error;

    error.clear();
    EXPECT_FALSE(event_from_json(json::array({1, 2}), error));
    EXPECT_FALSE(error.empty());
}

TEST(Hex, RoundTrip) {
    std::vector<std::byte> all;
    for (int i = 0; i < 256; i++) all.push_back(std::byte(i));
    std::string hex = hex_encode(all);
    EXPECT_EQ(hex.size(), 512u);
    EXPECT_EQ(hex.substr(0, 8), "00010203");
    EXPECT_EQ(hex.substr(504), "fcfdfeff");
    auto back = hex_decode(hex);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, all);

    for (const Event& e : swamp::test::sample_events()) {
        auto raw = encode(e);
        auto b = hex_decode(hex_encode(raw));
        ASSERT_TRUE(b);
        EXPECT_EQ(*b, raw);
    }
}

TEST(Hex, DecodeAcceptsUpperCase) {
    auto b = hex_decode("DEADbeef");
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, (std::vector<std::byte>{std::byte{0xde}, std::byte{0xad}, std::byte{0xbe}, std::byte{0xef}}));
}

TEST(Hex, EmptyIsEmpty) {
    EXPECT_EQ(hex_encode({}), "");
    auto b = hex_decode("");
    ASSERT_TRUE(b);
    EXPECT_TRUE(b->empty());
}

TEST(Hex, RejectsOddLengthAndNonHex) {
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("0"));
    EXPECT_FALSE(hex_decode("zz"));
    EXPECT_FALSE(hex_decode("0g"));
    EXPECT_FALSE(hex_decode("g0"));
    EXPECT_FALSE(hex_decode("00 1"));
    EXPECT_FALSE(hex_decode("0x12"));
    EXPECT_FALSE(hex_decode("12-3"));
}
