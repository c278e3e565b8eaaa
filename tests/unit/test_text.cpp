#include <gtest/gtest.h>

#include "trace/text.hpp"

using namespace swamp;

namespace {
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST(HumanBytes, Units) {
    EXPECT_EQ(human_bytes(0), "0");
    EXPECT_EQ(human_bytes(1), "1");
    EXPECT_EQ(human_bytes(1023), "1023");
    EXPECT_EQ(human_bytes(1024), "1K");
    EXPECT_EQ(human_bytes(512 * 1024), "512K");
    EXPECT_EQ(human_bytes(16ull << 20), "16.0M");
    EXPECT_EQ(human_bytes(256ull << 20), "256.0M");
    EXPECT_EQ(human_bytes((1ull << 20) + (1ull << 19)), "1.5M");
    EXPECT_EQ(human_bytes(3ull << 29), "1.50G");  // 1.5 GiB
    EXPECT_EQ(human_bytes(1ull << 30), "1.00G");
    EXPECT_EQ(human_bytes(64ull << 30), "64.00G");
}

TEST(HumanCount, Units) {
    EXPECT_EQ(human_count(0), "0");
    EXPECT_EQ(human_count(950), "950");
    EXPECT_EQ(human_count(999), "999");
    EXPECT_EQ(human_count(1000), "1.0k");
    EXPECT_EQ(human_count(1234), "1.2k");
    EXPECT_EQ(human_count(12345), "12k");
    EXPECT_EQ(human_count(999000), "999k");
    EXPECT_EQ(human_count(1e6), "1.0M");
    EXPECT_EQ(human_count(1.25e7), "12.5M");
}

TEST(TextLine, Header) {
    std::string h = text_header();
    for (const char* col : {"TIME(s)", "PID", "PPID", "COMM", "EVENT", "RSS", "DETAILS"})
        EXPECT_TRUE(contains(h, col)) << col << " missing from: " << h;
    EXPECT_LT(h.find("TIME(s)"), h.find("PID"));
    EXPECT_LT(h.find("COMM"), h.find("EVENT"));
    EXPECT_LT(h.find("RSS"), h.find("DETAILS"));
}

TEST(TextLine, ExitKilledBySigkill) {
    std::string l = text_line(ExitEvent{2'500'000'000, 1234, 1000, "cc1plus", 9, 2ull << 30, 5000, 3}, 1'000'000'000,
                              "cc1plus");
    EXPECT_TRUE(contains(l, "killed by SIGKILL")) << l;
    EXPECT_TRUE(contains(l, "1.500")) << l;  // seconds since start
    EXPECT_TRUE(contains(l, "1234")) << l;
    EXPECT_TRUE(contains(l, "1000")) << l;
    EXPECT_TRUE(contains(l, "cc1plus")) << l;
    EXPECT_TRUE(contains(l, "exit")) << l;
    EXPECT_TRUE(contains(l, "peak 2.00G")) << l;
    EXPECT_FALSE(contains(l, "status")) << l;
}

TEST(TextLine, ExitWithStatus) {
    std::string l = text_line(ExitEvent{1, 5, 4, "make", 0x0200, 4096, 10, 0}, 0, "make");
    EXPECT_TRUE(contains(l, "status 2")) << l;
    EXPECT_FALSE(contains(l, "killed")) << l;
    EXPECT_TRUE(contains(l, "peak 4K")) << l;
}

TEST(TextLine, Rss) {
    std::string l = text_line(RssEvent{1'000'000'000, 42, 300ull << 20, 200ull << 20, 90ull << 20, 10ull << 20, 0,
                                       300ull << 20},
                              0, "ld");
    EXPECT_TRUE(contains(l, "300.0M")) << l;
    EXPECT_TRUE(contains(l, "anon 200.0M")) << l;
    EXPECT_TRUE(contains(l, "file 90.0M")) << l;
    EXPECT_TRUE(contains(l, "shmem 10.0M")) << l;
    EXPECT_TRUE(contains(l, "swap 0")) << l;
    EXPECT_TRUE(contains(l, " ld ")) << l;
    EXPECT_TRUE(contains(l, " rss ")) << l;
    EXPECT_TRUE(contains(l, "1.000")) << l;
}

TEST(TextLine, ExecShowsArgv) {
    std::string l = text_line(ExecEvent{0, 7, 6, "gcc", "/usr/bin/gcc", {"gcc", "-O2", "x.c"}, false}, 0, "gcc");
    EXPECT_TRUE(contains(l, "gcc -O2 x.c")) << l;
    std::string t = text_line(ExecEvent{0, 7, 6, "gcc", "/usr/bin/gcc", {"gcc", "-O2"}, true}, 0, "gcc");
    EXPECT_TRUE(contains(t, "gcc -O2 …")) << t;
    std::string f = text_line(ExecEvent{0, 7, 6, "gcc", "/usr/bin/gcc", {}, false}, 0, "gcc");
    EXPECT_TRUE(contains(f, "/usr/bin/gcc")) << f;
}

TEST(TextLine, Fork) {
    EXPECT_TRUE(contains(text_line(ForkEvent{0, 8, 8, 7, "sh", false}, 0, "sh"), "new process"));
    EXPECT_TRUE(contains(text_line(ForkEvent{0, 8, 9, 8, "sh", true}, 0, "sh"), "new thread 9"));
}

TEST(TextLine, Faults) {
    std::string l = text_line(FaultEvent{0, 8, 500'000'000, 6000, 2}, 0, "x");
    EXPECT_TRUE(contains(l, "minflt 12k/s")) << l;
    EXPECT_TRUE(contains(l, "majflt 4/s")) << l;
}

TEST(TextLine, LongCommIsCutToTheColumn) {
    std::string l = text_line(ForkEvent{0, 8, 8, 7, "x", false}, 0, "abcdefghijklmnopqrstuvwxyz");
    EXPECT_TRUE(contains(l, "abcdefghijklmno ")) << l;
    EXPECT_FALSE(contains(l, "abcdefghijklmnop")) << l;
}
