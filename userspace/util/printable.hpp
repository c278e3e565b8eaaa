// Strings from processes (comm, argv, cwd) and from files may hold any bytes:
// a newline then "<0>" would forge a journald entry at emergency level, an
// escape sequence would drive the reader's terminal, a character cut at 15
// bytes is not UTF-8. Everything written as text goes through printable().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace swamp {

// The length (1 to 4) of the UTF-8 character that starts at s[i], or 0 if the
// bytes there are not one (a stray continuation byte, a cut, overlong or
// surrogate encoding, or beyond U+10FFFF).
size_t utf8_char_at(std::string_view s, size_t i);
bool is_valid_utf8(std::string_view s);

// `s` on one line and unambiguous: "\n", "\r", "\t", "\\", and "\xNN" for the
// other control characters (C0, DEL, C1) and for bytes that are not UTF-8.
// Valid UTF-8 text stays as it is.
std::string printable(std::string_view s);

// At most `max` bytes of UTF-8 text `s`, never cut inside a character.
std::string utf8_prefix(std::string_view s, size_t max);

// `s` with each byte that is not UTF-8 replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace swamp
