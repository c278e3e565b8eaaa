// The command-signature shell lexer (history/signature): an argv a build runs
// is any bytes. Input: argv words separated by NUL; the first word is also
// lexed as a whole shell command line. Neither throws or crashes; a signature
// always has a key.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "history/signature.hpp"
#include "nul_fields.hpp"

using namespace swamp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> argv = nul_fields(text, text.size() + 1);
    (void)first_shell_command(argv[0]);
    if (auto sig = command_signature(argv); sig && (sig->key.empty() || sig->tool.empty())) abort();
    // the same words run by a shell, as make does
    std::vector<std::string> shell{"/bin/sh", "-c", argv[0]};
    if (auto sig = command_signature(shell); sig && sig->key.empty()) abort();
    return 0;
}
