#include <gtest/gtest.h>

#include "util/size.hpp"

using namespace swamp;

namespace {
std::optional<uint64_t> parse(const std::string& s) {
    std::string error;
    auto v = parse_size(s, error);
    if (v) {
        EXPECT_TRUE(error.empty()) << s << ": " << error;
    }
    return v;
}
}  // namespace

TEST(ParseSize, AcceptsUnits) {
    struct Case {
        const char* text;
        uint64_t bytes;
    } cases[] = {
        {"16M", 16ull << 20},       {"16MiB", 16ull << 20}, {"16MB", 16ull << 20}, {"16m", 16ull << 20},
        {"1.5G", 3ull << 29},       {"1.5GiB", 3ull << 29}, {"512k", 512ull << 10}, {"512K", 512ull << 10},
        {"512KiB", 512ull << 10},   {"4096", 4096},         {"4096B", 4096},      {"1", 1},
        {"1T", 1ull << 40},         {"2tib", 2ull << 40},   {"0.5K", 512},        {".5M", 512ull << 10},
        {"1.0009765625K", 1025},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.text);
        auto v = parse(c.text);
        ASSERT_TRUE(v);
        EXPECT_EQ(*v, c.bytes);
    }
}

TEST(ParseSize, FractionalBytesAreRoundedDown) {
    auto v = parse("1.9");
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, 1u);
}

TEST(ParseSize, Rejects) {
    for (const char* text : {"4XB", "-1G", "0", "", "M", "1..5G", "99999999999T", "0.5", "0M", ".", ".G", "16 M",
                             "1e3", "G16", "16M16", "16777216T"}) {
        SCOPED_TRACE(text);
        std::string error;
        auto v = parse_size(text, error);
        EXPECT_FALSE(v) << *v;
        EXPECT_FALSE(error.empty());
        EXPECT_NE(error.find(std::string("\"") + text + "\""), std::string::npos) << error;
    }
}

TEST(ParseSize, ErrorsExplainWhy) {
    std::string error;
    EXPECT_FALSE(parse_size("4XB", error));
    EXPECT_NE(error.find("unknown unit"), std::string::npos) << error;
    EXPECT_NE(error.find("XB"), std::string::npos) << error;

    EXPECT_FALSE(parse_size("-1G", error));
    EXPECT_NE(error.find("negative"), std::string::npos) << error;

    EXPECT_FALSE(parse_size("0", error));
    EXPECT_NE(error.find("more than 0"), std::string::npos) << error;

    EXPECT_FALSE(parse_size("99999999999T", error));
    EXPECT_NE(error.find("too large"), std::string::npos) << error;

    EXPECT_FALSE(parse_size("", error));
    EXPECT_NE(error.find("no number"), std::string::npos) << error;

    EXPECT_FALSE(parse_size("1..5G", error));
    EXPECT_NE(error.find("not a number"), std::string::npos) << error;
}

TEST(ParseSize, LargestValuesFit) {
    auto v = parse("16777215T");  // 2^64 - 2^40
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, (16777215ull << 40));
}
