// util/printable: what every log, trace and status line does with a string a
// process chose, and json_line: what every JSON writer does with one.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "util/json_line.hpp"
#include "trace/text.hpp"
#include "util/printable.hpp"

using namespace swamp;

TEST(Printable, KeepsUtf8Text) {
    EXPECT_EQ(printable("cc1plus"), "cc1plus");
    EXPECT_EQ(printable("gcc -o a (b) \"c\" é €  𝄞"), "gcc -o a (b) \"c\" é €  𝄞");
    EXPECT_EQ(printable(""), "");
}

TEST(Printable, EscapesControlCharacters) {
    EXPECT_EQ(printable("x\n<0>forged"), "x\\n<0>forged");
    EXPECT_EQ(printable("a\r\tb"), "a\\r\\tb");
    EXPECT_EQ(printable("\x1b[2J"), "\\x1b[2J");
    EXPECT_EQ(printable(std::string("a\0b", 3)), "a\\x00b");
    EXPECT_EQ(printable("del\x7f"), "del\\x7f");
    EXPECT_EQ(printable("csi\xc2\x9b"), "csi\\xc2\\x9b");  // U+009B, a C1 control
    EXPECT_EQ(printable("\xc2\xa0"), "\xc2\xa0");          // U+00A0 is not one
    EXPECT_EQ(printable("back\\slash"), "back\\\\slash");  // so that "\x41" in a name is not read as "A"
}

TEST(Printable, EscapesBytesThatAreNotUtf8) {
    EXPECT_EQ(printable("aaaaaaaaaaaaaa\xc3"), "aaaaaaaaaaaaaa\\xc3");  // é cut at 15 bytes
    EXPECT_EQ(printable("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(printable("\xc0\x80"), "\\xc0\\x80");          // overlong NUL
    EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
    EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // beyond U+10FFFF
    EXPECT_EQ(printable("\x80z"), "\\x80z");
    EXPECT_EQ(printable("\xe2\x82"), "\\xe2\\x82");  // € cut
}

TEST(Printable, OutputIsOneLineOfUtf8WithoutControls) {
    std::string all;
    for (int b = 0; b < 256; b++) all += char(b);
    std::string p = printable(all + "\xe2\x82\xac" + all);
    EXPECT_TRUE(is_valid_utf8(p));
    for (unsigned char c : p) EXPECT_TRUE(c >= 0x20 && c != 0x7f) << int(c);
}

TEST(Utf8, Validity) {
    EXPECT_TRUE(is_valid_utf8("plain é € 𝄞"));
    EXPECT_FALSE(is_valid_utf8("\xc3"));
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\x80"));
    EXPECT_EQ(utf8_char_at("é", 0), 2u);
    EXPECT_EQ(utf8_char_at("é", 1), 0u);
    EXPECT_EQ(utf8_char_at("a", 1), 0u);
}

TEST(Utf8, PrefixNeverCutsACharacter) {
    EXPECT_EQ(utf8_prefix("abc", 5), "abc");
    EXPECT_EQ(utf8_prefix("abcdef", 3), "abc");
    EXPECT_EQ(utf8_prefix("aé", 2), "a");
    EXPECT_EQ(utf8_prefix("a€b", 3), "a");
    EXPECT_EQ(utf8_prefix("a€b", 4), "a€");
}

TEST(Utf8, ValidReplacesBadBytes) {
    EXPECT_EQ(valid_utf8("ok é"), "ok é");
    EXPECT_EQ(valid_utf8("a\xc3"), "a\xef\xbf\xbd");
    EXPECT_EQ(valid_utf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(JsonLine, ReplacesBytesThatAreNotUtf8InsteadOfThrowing) {
    nlohmann::json j{{"comm", "aaaaaaaaaaaaaa\xc3"}, {"argv", {"x\n<0>y", "\xff"}}};
    EXPECT_THROW((void)j.dump(), nlohmann::json::type_error);  // what status --json did
    std::string line;
    ASSERT_NO_THROW(line = json_line(j));
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_TRUE(is_valid_utf8(line));
    auto back = nlohmann::json::parse(line);
    EXPECT_EQ(back["comm"], "aaaaaaaaaaaaaa\xef\xbf\xbd");
    EXPECT_EQ(back["argv"][0], "x\n<0>y");
    nlohmann::ordered_json o{{"key", "\xc3"}};
    EXPECT_EQ(json_line(o), "{\"key\":\"\xef\xbf\xbd\"}");
}

TEST(TextTrace, HostileCommAndArgvStayOnOneLine) {
    ExecEvent e{2'000'000'000, 77, 1, "x\n<0>forged", "/tmp/x\n<0>forged", {"x\n<0>forged", "\x1b[2J"}, false};
    std::string line = text_line(e, 1'000'000'000, "x\n<0>forged");
    EXPECT_EQ(line.find('\n'), std::string::npos) << line;
    EXPECT_EQ(line.find('\x1b'), std::string::npos) << line;
    EXPECT_NE(line.find("x\\n<0>forged \\x1b[2J"), std::string::npos) << line;
    EXPECT_NE(line.find(" x\\n<0>forged "), std::string::npos) << "the comm column: " << line;
    EXPECT_EQ(comm_column("aaaaaaaaaaaaaaé"), "aaaaaaaaaaaaaa");  // cut before é, not inside it
    EXPECT_EQ(comm_column("aaaaaaaaaaaaaa\xc3"), "aaaaaaaaaaaaaa\\");
}
