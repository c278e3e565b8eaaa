#include <gtest/gtest.h>

#include <cstring>

#include "events.h"
#include "source/decode.hpp"
#include "test_util.hpp"

using namespace swamp;
using swamp::test::bytes_of;

namespace {

Decoded decode_vec(const std::vector<std::byte>& v) { return decode(std::span<const std::byte>(v)); }

swamp_ev_exec exec_raw(const char* argv, size_t argv_bytes, uint32_t argv_len, uint32_t truncated) {
    swamp_ev_exec r{};
    r.hdr.type = SWAMP_EV_EXEC;
    r.hdr.size = sizeof(r);
    r.hdr.ts_ns = 77;
    r.pid = 10;
    r.ppid = 9;
    std::strcpy(r.comm, "sh");
    std::strcpy(r.filename, "/bin/sh");
    std::memcpy(r.argv, argv, argv_bytes);
    r.argv_len = argv_len;
    r.flags = truncated ? SWAMP_EXEC_ARGV_TRUNCATED : 0;
    return r;
}

}  // namespace

TEST(Decode, EveryEventTypeRoundTrips) {
    for (const Event& e : swamp::test::sample_events()) {
        SCOPED_TRACE(event_name(e));
        auto bytes = encode(e);
        Decoded d = decode_vec(bytes);
        ASSERT_TRUE(d.event.has_value()) << d.error;
        EXPECT_TRUE(d.error.empty());
        EXPECT_EQ(d.event->index(), e.index());
        EXPECT_EQ(*d.event, e);
    }
}

TEST(Decode, EncodedSizesMatchTheAbiStructs) {
    auto ev = swamp::test::sample_events();
    EXPECT_EQ(encode(ev[0]).size(), sizeof(swamp_ev_exec));
    EXPECT_EQ(encode(ev[1]).size(), sizeof(swamp_ev_fork));
    EXPECT_EQ(encode(ev[3]).size(), sizeof(swamp_ev_exit));
    EXPECT_EQ(encode(ev[4]).size(), sizeof(swamp_ev_rss));
    EXPECT_EQ(encode(ev[5]).size(), sizeof(swamp_ev_faults));
}

TEST(Decode, ExecArgvIsSplitAtNuls) {
    static const char args[] = "make\0-j4\0all";  // last argument with its NUL: 12 bytes
    auto r = exec_raw(args, sizeof(args), sizeof(args), 0);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExecEvent>(*d.event);
    EXPECT_EQ(e.argv, (std::vector<std::string>{"make", "-j4", "all"}));
    EXPECT_FALSE(e.argv_truncated);
    EXPECT_EQ(e.filename, "/bin/sh");
    EXPECT_EQ(e.comm, "sh");
}

TEST(Decode, ExecArgvLenLimitsTheArguments) {
    static const char args[] = "make\0-j4\0all";
    // argv_len covers "make\0-j" only: the second argument is cut.
    auto r = exec_raw(args, sizeof(args), 7, 1);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExecEvent>(*d.event);
    EXPECT_EQ(e.argv, (std::vector<std::string>{"make", "-j"}));
    EXPECT_TRUE(e.argv_truncated);
}

TEST(Decode, ExecEmptyArgv) {
    auto r = exec_raw("", 0, 0, 0);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_TRUE(std::get<ExecEvent>(*d.event).argv.empty());
}

TEST(Decode, ExecArgvLenLargerThanBufferIsClamped) {
    // A full buffer of 'x' with no NUL at all, and argv_len far beyond it.
    std::string fill(SWAMP_ARGV_LEN, 'x');
    auto r = exec_raw(fill.data(), fill.size(), 100000, 1);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExecEvent>(*d.event);
    ASSERT_EQ(e.argv.size(), 1u);
    EXPECT_EQ(e.argv[0], fill);  // never reads past argv[]
    EXPECT_TRUE(e.argv_truncated);
}

TEST(Decode, ExecArgvFullBufferOfShortArgs) {
    // 128 arguments "a" fill the buffer exactly.
    std::string buf;
    for (int i = 0; i < SWAMP_ARGV_LEN / 2; i++) buf += std::string("a\0", 2);
    ASSERT_EQ(buf.size(), size_t(SWAMP_ARGV_LEN));
    auto r = exec_raw(buf.data(), buf.size(), 4096, 1);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExecEvent>(*d.event);
    EXPECT_EQ(e.argv.size(), size_t(SWAMP_ARGV_LEN / 2));
    for (const auto& a : e.argv) EXPECT_EQ(a, "a");
}

// A command line longer than argv[] (filled in from /proc by BpfSource) goes
// on after the struct, and hdr.size covers it: it comes back whole.
TEST(Decode, ALongArgvGoesOnAfterTheStructAndComesBackWhole) {
    ExecEvent e{1, 2, 3, "x", "/x", {std::string(200, 'a'), std::string(200, 'b'), "-o", "out.o"}, false};
    std::vector<std::byte> bytes = encode(e);
    EXPECT_EQ(bytes.size(), sizeof(swamp_ev_exec) + 200 + 1 + 200 + 1 + 3 + 6 - SWAMP_ARGV_LEN);
    Decoded d = decode_vec(bytes);
    ASSERT_TRUE(d.event) << d.error;
    const auto& got = std::get<ExecEvent>(*d.event);
    EXPECT_EQ(got.argv, e.argv);
    EXPECT_FALSE(got.argv_truncated);
    // a size field that does not cover the tail, or a tail cut short, is an error
    std::vector<std::byte> cut(bytes.begin(), bytes.end() - 1);
    EXPECT_FALSE(decode_vec(cut).event);
    // a short one is the struct alone, as the kernel sends it
    ExecEvent s{1, 2, 3, "x", "/x", {"cc", "-c", "a.c"}, false};
    EXPECT_EQ(encode(s).size(), sizeof(swamp_ev_exec));
    EXPECT_EQ(std::get<ExecEvent>(*decode_vec(encode(s)).event).argv, s.argv);
}

TEST(Decode, CommIsCutAtItsNulAndAtFifteenChars) {
    ForkEvent f{5, 6, 6, 7, "a-very-long-command-name", false};
    Decoded d = decode_vec(encode(f));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_EQ(std::get<ForkEvent>(*d.event).comm, "a-very-long-com");

    // A comm with no NUL in all 16 bytes is still read, and only those 16.
    swamp_ev_fork r{};
    r.hdr = {SWAMP_EV_FORK, sizeof(r), 1};
    std::memcpy(r.comm, "0123456789abcdef", SWAMP_COMM_LEN);
    d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_EQ(std::get<ForkEvent>(*d.event).comm, "0123456789abcdef");
}

TEST(Decode, EmptyBufferIsRejected) {
    Decoded d = decode({});
    EXPECT_FALSE(d.event);
    EXPECT_NE(d.error.find("shorter than its header"), std::string::npos) << d.error;
}

TEST(Decode, BufferShorterThanHeaderIsRejected) {
    std::vector<std::byte> v(sizeof(swamp_event_hdr) - 1);
    Decoded d = decode_vec(v);
    EXPECT_FALSE(d.event);
    EXPECT_NE(d.error.find("shorter than its header"), std::string::npos) << d.error;
    EXPECT_NE(d.error.find(std::to_string(v.size())), std::string::npos) << d.error;
}

TEST(Decode, HeaderOnlyBufferIsRejectedForEveryType) {
    for (uint32_t type : {SWAMP_EV_EXEC, SWAMP_EV_FORK, SWAMP_EV_EXIT, SWAMP_EV_RSS, SWAMP_EV_FAULTS}) {
        SCOPED_TRACE(type);
        swamp_event_hdr h{type, sizeof(swamp_event_hdr), 1};
        Decoded d = decode_vec(bytes_of(h));
        EXPECT_FALSE(d.event);
        EXPECT_NE(d.error.find("too short"), std::string::npos) << d.error;
    }
}

TEST(Decode, TruncatedEventIsRejected) {
    auto bytes = encode(ExitEvent{1, 2, 3, "x", 0, 4, 5, 6});
    bytes.pop_back();
    Decoded d = decode_vec(bytes);
    EXPECT_FALSE(d.event);
    EXPECT_NE(d.error.find("too short"), std::string::npos) << d.error;
    EXPECT_NE(d.error.find(std::to_string(sizeof(swamp_ev_exit))), std::string::npos) << d.error;
}

TEST(Decode, WrongSizeFieldIsRejected) {
    swamp_ev_rss r{};
    r.hdr = {SWAMP_EV_RSS, sizeof(r) + 8, 1};
    r.pid = 3;
    Decoded d = decode_vec(bytes_of(r));
    EXPECT_FALSE(d.event);
    EXPECT_NE(d.error.find("size field " + std::to_string(sizeof(r) + 8)), std::string::npos) << d.error;

    // A fork-sized size field on an exit event.
    swamp_ev_exit x{};
    x.hdr = {SWAMP_EV_EXIT, sizeof(swamp_ev_fork), 1};
    d = decode_vec(bytes_of(x));
    EXPECT_FALSE(d.event);
    EXPECT_NE(d.error.find("does not match"), std::string::npos) << d.error;
}

TEST(Decode, UnknownTypeIsRejected) {
    for (uint32_t type : {0u, 6u, 0xffffffffu}) {
        swamp_ev_faults r{};
        r.hdr = {type, sizeof(r), 1};
        Decoded d = decode_vec(bytes_of(r));
        EXPECT_FALSE(d.event);
        EXPECT_EQ(d.error, "unknown event type " + std::to_string(type));
    }
}

TEST(Decode, HandBuiltExecFromRingBuffer) {
    static const char args[] = "gcc\0-O2\0-c\0x.c";
    swamp_ev_exec r;
    std::memset(&r, 0xAB, sizeof(r));  // garbage after the strings must not leak through
    r.hdr.type = SWAMP_EV_EXEC;
    r.hdr.size = sizeof(r);
    r.hdr.ts_ns = 123456789012345ull;
    r.pid = 31337;
    r.ppid = 31000;
    r.argv_len = sizeof(args);
    r.flags = 0;
    std::memcpy(r.comm, "gcc", 4);
    std::memcpy(r.filename, "/usr/bin/gcc", 13);
    std::memcpy(r.argv, args, sizeof(args));
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExecEvent>(*d.event);
    EXPECT_EQ(e.ts_ns, 123456789012345ull);
    EXPECT_EQ(e.pid, 31337u);
    EXPECT_EQ(e.ppid, 31000u);
    EXPECT_EQ(e.comm, "gcc");
    EXPECT_EQ(e.filename, "/usr/bin/gcc");
    EXPECT_EQ(e.argv, (std::vector<std::string>{"gcc", "-O2", "-c", "x.c"}));
    EXPECT_FALSE(e.argv_truncated);
}

TEST(Decode, HandBuiltForkFromRingBuffer) {
    swamp_ev_fork r{};
    r.hdr = {SWAMP_EV_FORK, sizeof(r), 555};
    r.pid = 200;
    r.tid = 201;
    r.ppid = 100;
    r.flags = SWAMP_FORK_THREAD | 0x10;  // unknown flag bits are ignored
    std::memcpy(r.comm, "ninja", 6);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_EQ(*d.event, Event(ForkEvent{555, 200, 201, 100, "ninja", true}));

    r.flags = 0;
    d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_FALSE(std::get<ForkEvent>(*d.event).thread);
    EXPECT_FALSE(std::get<ForkEvent>(*d.event).untracked);
}

// The kernel side could not track the child (its task map was full): the event says so.
TEST(Decode, UntrackedForkAndExecAreMarked) {
    swamp_ev_fork f{};
    f.hdr = {SWAMP_EV_FORK, sizeof(f), 555};
    f.pid = f.tid = 200;
    f.ppid = 100;
    f.flags = SWAMP_FORK_UNTRACKED;
    Decoded d = decode_vec(bytes_of(f));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_EQ(*d.event, Event(ForkEvent{555, 200, 200, 100, "", false, true}));
    EXPECT_TRUE(untracked(*d.event));

    const char args[] = "make";
    swamp_ev_exec x = exec_raw(args, sizeof(args), sizeof(args), 0);
    x.flags = SWAMP_EXEC_UNTRACKED;
    d = decode_vec(bytes_of(x));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_TRUE(std::get<ExecEvent>(*d.event).untracked);
    EXPECT_FALSE(std::get<ExecEvent>(*d.event).argv_truncated);
    EXPECT_TRUE(untracked(*d.event));
    // and both survive the encoder (recordings, replay)
    for (const Event& e : {Event(ForkEvent{1, 2, 2, 1, "sh", false, true}),
                           Event(ExecEvent{1, 2, 1, "make", "/usr/bin/make", {"make"}, true, true})}) {
        Decoded back = decode(encode(e));
        ASSERT_TRUE(back.event) << back.error;
        EXPECT_EQ(*back.event, e);
    }
}

TEST(Decode, HandBuiltExitFromRingBuffer) {
    swamp_ev_exit r{};
    r.hdr = {SWAMP_EV_EXIT, sizeof(r), 999};
    r.pid = 300;
    r.ppid = 299;
    r.exit_code = 0x0100;  // exit(1)
    r.flags = 0;
    r.peak_rss = 3ull << 30;
    r.min_flt = 1000000;
    r.maj_flt = 42;
    std::memcpy(r.comm, "ld", 3);
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExitEvent>(*d.event);
    EXPECT_EQ(e.ts_ns, 999u);
    EXPECT_EQ(e.pid, 300u);
    EXPECT_EQ(e.ppid, 299u);
    EXPECT_EQ(e.comm, "ld");
    EXPECT_EQ(e.wait_status, 0x0100u);
    EXPECT_EQ(e.exit_code(), 1);
    EXPECT_EQ(e.signal(), 0);
    EXPECT_EQ(e.peak_rss, 3ull << 30);
    EXPECT_EQ(e.min_flt, 1000000u);
    EXPECT_EQ(e.maj_flt, 42u);
}

TEST(Decode, ExitOfTheNoBtfVariantHasNoStatus) {
    swamp_ev_exit r{};
    r.hdr = {SWAMP_EV_EXIT, sizeof(r), 5};
    r.pid = 7;
    r.flags = SWAMP_EXIT_STATUS_UNKNOWN;
    r.peak_rss = 1 << 20;
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<ExitEvent>(*d.event);
    EXPECT_FALSE(e.status_known);
    Decoded back = decode(encode(e));
    ASSERT_TRUE(back.event) << back.error;
    EXPECT_EQ(*back.event, *d.event);
    r.flags = 0;
    EXPECT_TRUE(std::get<ExitEvent>(*decode_vec(bytes_of(r)).event).status_known);
}

TEST(Decode, HandBuiltRssFromRingBuffer) {
    swamp_ev_rss r{};
    r.hdr = {SWAMP_EV_RSS, sizeof(r), 1234};
    r.pid = 400;
    r.rss = 11;
    r.anon = 22;
    r.file = 33;
    r.shmem = 44;
    r.swap = 55;
    r.peak_rss = 66;
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    EXPECT_EQ(*d.event, Event(RssEvent{1234, 400, 11, 22, 33, 44, 55, 66}));
}

TEST(Decode, HandBuiltFaultsFromRingBuffer) {
    swamp_ev_faults r{};
    r.hdr = {SWAMP_EV_FAULTS, sizeof(r), 4321};
    r.pid = 500;
    r.interval_ns = 500'000'000;
    r.min_flt = 1000;
    r.maj_flt = 3;
    Decoded d = decode_vec(bytes_of(r));
    ASSERT_TRUE(d.event) << d.error;
    const auto& e = std::get<FaultEvent>(*d.event);
    EXPECT_EQ(e, (FaultEvent{4321, 500, 500'000'000, 1000, 3}));
    EXPECT_DOUBLE_EQ(e.min_per_s(), 2000.0);
    EXPECT_DOUBLE_EQ(e.maj_per_s(), 6.0);
}

TEST(Decode, EventNames) {
    auto ev = swamp::test::sample_events();
    EXPECT_STREQ(event_name(ev[0]), "exec");
    EXPECT_STREQ(event_name(ev[1]), "fork");
    EXPECT_STREQ(event_name(ev[3]), "exit");
    EXPECT_STREQ(event_name(ev[4]), "rss");
    EXPECT_STREQ(event_name(ev[5]), "faults");
    EXPECT_EQ(event_pid(ev[1]), 4243u);
    EXPECT_EQ(event_ts(ev[5]), 1'000'000'600u);
}
