#include "history/signature.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <regex>
#include <set>
#include <span>
#include <string_view>

#include "tree/drivers.hpp"

namespace swamp {

namespace {

using Args = std::span<const std::string>;

bool one_of(std::string_view s, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "/a/b/c.o" -> "c.o", "dir/" -> "dir", "/" -> "/"
std::string base_name(std::string_view path) {
    while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    size_t slash = path.rfind('/');
    return std::string(slash == std::string_view::npos || path.size() == 1 ? path : path.substr(slash + 1));
}

// An argument with its paths reduced: "/x/y.o" -> "y.o", "--out=/x/y.o" -> "--out=y.o".
std::string reduce_path_like(const std::string& arg) {
    size_t slash = arg.find('/');
    if (slash == std::string::npos) return arg;
    size_t eq = arg.find('=');
    if (eq != std::string::npos && eq < slash) return arg.substr(0, eq + 1) + base_name(arg.substr(eq + 1));
    return base_name(arg);
}


bool is_shell(std::string_view tool) { return one_of(tool, {"sh", "bash", "dash", "zsh", "ash"}); }

// Commands of a shell line that set up rather than do the job: skipped when looking for its tool.
bool is_setup_command(std::string_view word) {
    return one_of(word, {"cd", "pushd", "popd", "set", "export", "unset", "umask", "ulimit", ":", "true", "false", "echo",
                         "printf", "test", "[", "[[", "shopt", "trap", "local", "readonly", "alias", "mkdir", "rm",
                         "touch", "!", "{", "}", "if", "then", "else", "elif", "fi", "do", "done"});
}

// Control structures this parser does not follow: nothing to predict.
bool is_unfollowed_keyword(std::string_view word) {
    return one_of(word, {"for", "while", "until", "case", "select", "function"});
}

bool is_assignment(std::string_view word) {
    size_t eq = word.find('=');
    if (eq == 0 || eq == std::string_view::npos) return false;
    if (std::isdigit((unsigned char)word[0])) return false;
    return std::all_of(word.begin(), word.begin() + eq, [](char c) { return std::isalnum((unsigned char)c) || c == '_'; });
}

// ---- shell command lines -------------------------------------------------

// Splits a shell command line into simple commands (at ; & && || | ( ) and newlines), each a list of
// words with quotes removed. Redirections and comments are dropped; expansions stay literal.
std::vector<std::vector<std::string>> simple_commands(const std::string& line) {
    std::vector<std::vector<std::string>> commands(1);
    std::string word;
    bool in_word = false;
    auto end_word = [&] {
        if (in_word) commands.back().push_back(word);
        word.clear();
        in_word = false;
    };
    auto end_command = [&] {
        end_word();
        if (!commands.back().empty()) commands.emplace_back();
    };
    size_t i = 0, n = line.size();
    // Reads one word from i (quotes and escapes resolved) and discards it: a redirection's target.
    auto skip_word = [&] {
        while (i < n && (line[i] == ' ' || line[i] == '\t')) i++;
        char quote = 0;
        for (; i < n; i++) {
            char c = line[i];
            if (quote) {
                if (c == quote) quote = 0;
                else if (c == '\\' && quote == '"' && i + 1 < n) i++;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '\\' && i + 1 < n) {
                i++;
            } else if (std::string_view(" \t\n;&|()<>").find(c) != std::string_view::npos) {
                break;
            }
        }
    };
    while (i < n) {
        char c = line[i];
        if (c == '\'') {
            size_t close = line.find('\'', i + 1);
            if (close == std::string::npos) close = n;
            word.append(line, i + 1, close - i - 1);
            in_word = true;
            i = close + 1;
        } else if (c == '"') {
            in_word = true;
            for (i++; i < n && line[i] != '"'; i++) {
                if (line[i] == '\\' && i + 1 < n && std::string_view("\"\\$`\n").find(line[i + 1]) != std::string_view::npos)
                    i++;
                word += line[i];
            }
            i++;
        } else if (c == '\\') {
            if (i + 1 < n && line[i + 1] != '\n') word += line[i + 1], in_word = true;
            i += 2;
        } else if (c == ' ' || c == '\t') {
            end_word();
            i++;
        } else if (c == '#' && !in_word) {
            while (i < n && line[i] != '\n') i++;
        } else if (c == '<' || c == '>') {
            // "2>&1", ">out", "< in", ">>log", "&>x": drop the fd number and the target.
            if (in_word && std::all_of(word.begin(), word.end(), [](char d) { return std::isdigit((unsigned char)d); }))
                word.clear(), in_word = false;
            end_word();
            for (i++; i < n && (line[i] == '<' || line[i] == '>' || line[i] == '&' || line[i] == '|'); i++) {}
            skip_word();
        } else if (c == '&' && i + 1 < n && line[i + 1] == '>') {
            end_word();
            i += 2;
            if (i < n && line[i] == '>') i++;
            skip_word();
        } else if (std::string_view(";&|()\n").find(c) != std::string_view::npos) {
            end_command();
            i++;
        } else {
            word += c;
            in_word = true;
            i++;
        }
    }
    end_command();
    if (commands.back().empty()) commands.pop_back();
    return commands;
}

// ---- compilers and linkers -----------------------------------------------

enum class Family { CompilerDriver, CompilerProper, Linker, Rustc, Other };

Family family_of(const std::string& tool) {
    // gcc, g++, cc, c++, clang, clang++, with a cross prefix (x86_64-pc-linux-gnu-) or a version (-12).
    static const std::regex driver(R"(^(.+-)?(gcc|g\+\+|cc|c\+\+|clang|clang\+\+)(-[0-9][0-9.]*)?$)");
    static const std::regex linker(R"(^(.+-)?(ld|ld\.bfd|ld\.gold|ld\.lld|ld64\.lld|lld|mold|collect2)(-[0-9][0-9.]*)?$)");
    if (one_of(tool, {"cc1", "cc1plus", "cc1obj", "cc1objplus", "lto1"})) return Family::CompilerProper;
    if (tool == "rustc") return Family::Rustc;
    if (std::regex_match(tool, driver)) return Family::CompilerDriver;
    if (std::regex_match(tool, linker)) return Family::Linker;
    return Family::Other;
}

// Options of gcc, clang (and clang -cc1) and cc1 that take the next argument as their value.
bool compiler_option_takes_value(std::string_view o) {
    return one_of(o, {"-o", "-x", "-I", "-D", "-U", "-include", "-imacros", "-isystem", "-idirafter", "-iquote",
                      "-iprefix", "-iwithprefix", "-iwithprefixbefore", "-isysroot", "-imultilib", "-imultiarch",
                      "-MF", "-MT", "-MQ", "-L", "-l", "-u", "-T", "-z", "-B", "-G", "-Xlinker", "-Xassembler",
                      "-Xpreprocessor", "-Xclang", "-Xarch_host", "-aux-info", "-dumpbase", "-dumpbase-ext",
                      "-dumpdir", "-auxbase", "-auxbase-strip", "--param", "-target", "-arch", "-main-file-name",
                      "-resource-dir", "-mllvm", "-fdebug-compilation-dir", "-fcoverage-compilation-dir",
                      "-internal-isystem", "-internal-externc-isystem", "-target-cpu", "-target-feature", "-triple",
                      "-mrelocation-model", "-pic-level", "-stack-protector", "-ferror-limit", "-mthread-model",
                      "-dependency-file", "-tune-cpu", "-module-dependency-dir", "-ivfsoverlay", "--sysroot",
                      "-wrapper"});
}

// Options of ld, gold, lld, mold and collect2 that take the next argument as their value.
bool linker_option_takes_value(std::string_view o) {
    return one_of(o, {"-o", "-m", "-L", "-l", "-T", "-e", "-u", "-y", "-h", "-R", "-F", "-f", "-z", "-G", "-Y", "-A",
                      "-b", "-c", "-soname", "-rpath", "-rpath-link", "-dynamic-linker", "-plugin", "-plugin-opt",
                      "-Map", "-init", "-fini", "-mllvm", "--output", "--entry", "--undefined", "--library",
                      "--library-path", "--script", "--soname", "--rpath", "--rpath-link", "--dynamic-linker",
                      "--plugin", "--plugin-opt", "--version-script", "--dynamic-list", "--defsym", "--wrap",
                      "--exclude-libs", "--just-symbols", "--retain-symbols-file", "--trace-symbol", "--Map",
                      "--sysroot", "--format", "--oformat", "--architecture", "--sort-section", "-Ttext", "-Tdata",
                      "-Tbss"});
}

bool is_source_file(std::string_view path) {
    for (std::string_view ext : {".c", ".cc", ".cp", ".cpp", ".cxx", ".c++", ".C", ".CPP", ".m", ".mm", ".M", ".i",
                                 ".ii", ".s", ".S", ".sx", ".f", ".for", ".f90", ".f95", ".F", ".F90", ".rs", ".cu",
                                 ".go", ".d", ".ads", ".adb", ".h", ".hh", ".hpp", ".hxx", ".ixx", ".cppm"})
        if (ends_with(path, ext)) return true;
    return false;
}

// .o .a .so .so.1.2 .lo .la .obj .rlib: what a link reads.
bool is_link_input(std::string_view path) {
    std::string base = base_name(path);
    for (std::string_view ext : {".o", ".a", ".so", ".lo", ".la", ".obj", ".rlib", ".lib", ".dylib"})
        if (ends_with(base, ext)) return true;
    size_t so = base.rfind(".so.");  // libfoo.so.1.2
    return so != std::string::npos && so + 4 < base.size() &&
           base.find_first_not_of("0123456789.", so + 4) == std::string::npos;
}

// gcc's /tmp/ccAbCdEf.s, clang's /tmp/main-1a2b3c.o: new names every run.
bool is_temporary(std::string_view path) {
    static const std::regex temp(R"(^(/tmp|/var/tmp|/dev/shm)/(cc[A-Za-z0-9]{6}\.[A-Za-z]+|.+-[0-9a-f]{6}\.[A-Za-z]+)$)");
    return std::regex_match(path.begin(), path.end(), temp);
}

// The fields of a compiler's or linker's key.
struct Parsed {
    std::string mode = "other";
    std::string source;
    std::string output;
    std::string opt;               // "-O2"; "" when not given (the tool's default)
    std::string std;               // "-std=gnu++17": the same source under another standard is another job
    std::vector<std::string> lto;  // -flto=auto, -fwhole-program, --lto-O3 …
    std::vector<std::string> inputs;
};

void note_lto(Parsed& p, const std::string& a) {
    if (a == "-fno-lto") {
        p.lto.clear();
        return;
    }
    bool lto = starts_with(a, "-flto") || a == "-fwhole-program" || a == "-ffat-lto-objects" || starts_with(a, "--lto") ||
               starts_with(a, "--thinlto") || starts_with(a, "-plugin-opt=O") ||
               starts_with(a, "--plugin-opt=O");
    if (lto && std::find(p.lto.begin(), p.lto.end(), a) == p.lto.end()) p.lto.push_back(a);
}

// "-O" -> "-O1"; "-O3", "-Os", "-Ofast" stay.
std::string opt_level(const std::string& a) { return a == "-O" ? "-O1" : a; }

bool is_opt_level(const std::string& a) {
    static const std::regex opt(R"(^-O([0-9]|s|z|g|fast)?$)");
    return std::regex_match(a, opt);
}

Parsed parse_compiler(Args args, bool proper) {
    Parsed p;
    bool compile_only = proper;
    std::vector<std::string> positional;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a == "-o" || a == "--output") {
            if (i + 1 < args.size()) p.output = args[++i];
        } else if (starts_with(a, "-o") && a.size() > 2 && !starts_with(a, "-objc")) {
            p.output = a.substr(2);
        } else if (starts_with(a, "--output=")) {
            p.output = a.substr(9);
        } else if (a == "-c" || a == "-S" || a == "-E" || a == "-cc1" || a == "-cc1as" || a == "-fsyntax-only" ||
                   a == "-emit-obj" || a == "-M" || a == "-MM") {
            compile_only = true;
        } else if (is_opt_level(a)) {
            p.opt = opt_level(a);
        } else if (starts_with(a, "-std=")) {
            p.std = a;
        } else if (compiler_option_takes_value(a)) {
            i++;
        } else if (a.size() > 1 && a[0] == '-') {
            note_lto(p, a);
        } else if (!a.empty() && a[0] == '@') {
            // a response file: read by the tool, not by us
        } else {
            positional.push_back(a);
        }
    }
    for (const auto& a : positional) {
        if (p.source.empty() && (is_source_file(a) || a == "-")) p.source = a;
        if (is_link_input(a)) p.inputs.push_back(a);
    }
    if (compile_only) {
        p.mode = "compile";
        if (p.source.empty() && !positional.empty()) p.source = positional.front();
        p.inputs.clear();
    } else if (!positional.empty()) {
        p.mode = "link";
    }
    if (!p.output.empty() && is_temporary(p.output)) p.output.clear();
    return p;
}

Parsed parse_linker(Args args) {
    Parsed p;
    p.mode = "link";
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        if (a == "-o" || a == "--output") {
            if (i + 1 < args.size()) p.output = args[++i];
        } else if (starts_with(a, "--output=")) {
            p.output = a.substr(9);
        } else if (starts_with(a, "-o") && a.size() > 2 && a.find('=') == std::string::npos) {
            p.output = a.substr(2);
        } else if (is_opt_level(a)) {
            p.opt = opt_level(a);
        } else if (linker_option_takes_value(a)) {
            i++;
        } else if (a.size() > 1 && a[0] == '-') {
            note_lto(p, a);
        } else if (!a.empty() && a[0] != '@') {
            if (is_link_input(a)) p.inputs.push_back(a);
        }
    }
    return p;
}

// rustc: the crate stands for the source (lib.rs and main.rs are in every crate).
Parsed parse_rustc(Args args) {
    Parsed p;
    p.mode = "compile";
    std::string crate, source;
    for (size_t i = 0; i < args.size(); i++) {
        const std::string& a = args[i];
        auto value = [&](std::string_view name) -> std::optional<std::string> {
            if (a == name && i + 1 < args.size()) return args[++i];
            if (starts_with(a, std::string(name) + "=")) return a.substr(name.size() + 1);
            return std::nullopt;
        };
        if (auto v = value("--crate-name")) {
            crate = *v;
        } else if (auto o = value("-o")) {
            p.output = *o;
        } else if (a == "-O") {
            p.opt = "opt-level=2";
        } else if (a == "-C" || starts_with(a, "-C")) {
            std::string c = a == "-C" ? (i + 1 < args.size() ? args[++i] : "") : a.substr(2);
            if (starts_with(c, "opt-level=")) p.opt = c;
            if (starts_with(c, "lto") || starts_with(c, "linker-plugin-lto")) p.lto.push_back("-C" + c);
        } else if (one_of(a, {"--crate-type", "--edition", "--emit", "--out-dir", "-L", "-l", "--cfg", "--target",
                              "--cap-lints", "--error-format", "--json", "--extern", "-W", "-A", "-D", "-F",
                              "--check-cfg", "--print", "--sysroot", "--remap-path-prefix", "-Z"})) {
            i++;
        } else if (!a.empty() && a[0] != '-' && source.empty()) {
            source = a;
        }
    }
    p.source = crate.empty() ? source : crate;
    return p;
}

std::string fnv1a_hex(std::string_view s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    char buf[17];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
    return buf;
}

std::string bounded_key(std::string key) {
    if (key.size() <= kMaxSignatureKey) return key;
    std::string hash = fnv1a_hex(key);
    size_t keep = kMaxSignatureKey - hash.size() - 4;  // "…#" is 4 bytes
    while (keep > 0 && (key[keep] & 0xC0) == 0x80) keep--;  // not inside a UTF-8 character
    return key.substr(0, keep) + "\u2026#" + hash;
}

CommandSignature tool_signature(const std::string& tool, Args args) {
    CommandSignature sig;
    sig.tool = tool;
    Family family = family_of(tool);
    if (family == Family::Other) {
        std::string key = tool;
        for (const auto& a : args) key += " " + reduce_path_like(a);
        sig.key = bounded_key(key);
        return sig;
    }
    Parsed p = family == Family::CompilerDriver   ? parse_compiler(args, false)
               : family == Family::CompilerProper ? parse_compiler(args, true)
               : family == Family::Linker         ? parse_linker(args)
                                                  : parse_rustc(args);
    std::string key = tool + " " + p.mode;
    if (!p.source.empty()) key += " " + base_name(p.source);
    if (!p.output.empty()) key += " -o " + base_name(p.output);
    if (!p.opt.empty()) key += " " + p.opt;
    if (!p.std.empty()) key += " " + p.std;
    for (const auto& l : p.lto) key += " " + reduce_path_like(l);
    sig.key = bounded_key(key);
    sig.is_link = p.mode == "link";
    if (sig.is_link) sig.link_inputs = std::move(p.inputs);
    return sig;
}

// Skips the options of a wrapper (and their values); returns the index of the wrapped command,
// at most args.size() (an option that wants a value may be the last word: "nice -n").
size_t skip_options(Args args, size_t i, std::initializer_list<std::string_view> with_value) {
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-') {
        if (args[i] == "--") return i + 1;
        if (one_of(args[i], with_value)) i++;
        i++;
    }
    return std::min(i, args.size());
}

constexpr int kMaxDepth = 8;  // sh -c "sh -c '…'" nesting we follow

std::optional<CommandSignature> signature_of(Args args, int depth) {
    if (args.empty() || args[0].empty() || depth > kMaxDepth) return std::nullopt;
    std::string tool = base_name(args[0]);
    Args rest = args.subspan(1);
    if (one_of(tool, {"ccache", "distcc", "icecc", "sccache", "nohup", "exec", "command"})) {
        if (!rest.empty() && rest[0].size() > 1 && rest[0][0] == '-') return tool_signature(tool, rest);  // ccache -s
        return signature_of(rest, depth + 1);
    }
    if (tool == "env") {
        size_t i = skip_options(args, 1, {"-u", "--unset", "-C", "--chdir", "-S", "--split-string"});
        while (i < args.size() && is_assignment(args[i])) i++;
        return signature_of(args.subspan(i), depth + 1);
    }
    if (tool == "nice") {
        size_t i = skip_options(args, 1, {"-n", "--adjustment"});
        return signature_of(args.subspan(i), depth + 1);
    }
    if (tool == "ionice") {
        size_t i = skip_options(args, 1, {"-c", "--class", "-n", "--classdata", "-p", "--pid", "-P", "--pgid", "-u",
                                          "--uid"});
        return signature_of(args.subspan(i), depth + 1);
    }
    if (tool == "time") {
        size_t i = skip_options(args, 1, {"-o", "--output", "-f", "--format"});
        return signature_of(args.subspan(i), depth + 1);
    }
    if (tool == "libtool") {
        size_t i = skip_options(args, 1, {});
        if (i == args.size()) return std::nullopt;
        return signature_of(args.subspan(i), depth + 1);
    }
    if (is_shell(tool)) {
        for (size_t i = 1; i < args.size(); i++) {
            const std::string& a = args[i];
            if (a == "--") continue;
            if (a.size() > 1 && (a[0] == '-' || a[0] == '+')) {
                if (a[0] == '-' && a[1] != '-' && a.find('c') != std::string::npos) {  // -c, -ec, -xc …
                    if (i + 1 >= args.size()) return std::nullopt;
                    std::vector<std::string> words = first_shell_command(args[i + 1]);
                    return signature_of(words, depth + 1);
                }
                if (a == "-o" || a == "+o" || a == "-O" || a == "+O") i++;  // set -o NAME
                continue;
            }
            return signature_of(args.subspan(i), depth + 1);  // sh script.sh ARGS: the script is the tool
        }
        return std::nullopt;  // a bare shell
    }
    if (is_known_driver(tool)) return std::nullopt;  // a driver: its jobs are its children
    return tool_signature(tool, rest);
}

}  // namespace

std::vector<std::string> first_shell_command(const std::string& command_line) {
    for (auto& words : simple_commands(command_line)) {
        size_t i = 0;
        while (i < words.size() && is_assignment(words[i])) i++;
        while (i < words.size() && one_of(words[i], {"exec", "command", "{", "!", "then", "do", "else", "if"})) i++;
        if (i == words.size()) continue;
        if (is_unfollowed_keyword(words[i])) return {};
        if (is_setup_command(words[i])) continue;
        return {words.begin() + long(i), words.end()};
    }
    return {};
}

std::optional<CommandSignature> command_signature(const std::vector<std::string>& argv) { return signature_of(argv, 0); }

}  // namespace swamp
