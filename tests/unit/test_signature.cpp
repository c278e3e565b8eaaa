// Command signatures: what makes two runs "the same job" (userspace/history/signature.hpp).
#include <gtest/gtest.h>

#include <chrono>

#include "history/signature.hpp"

using namespace swamp;

namespace {

using Argv = std::vector<std::string>;

std::string key_of(const Argv& argv) {
    auto s = command_signature(argv);
    return s ? s->key : "<nullopt>";
}

const Argv kCompile{"/usr/bin/g++", "-DNDEBUG", "-I/home/ann/proj/include", "-O2", "-flto=auto", "-std=c++20",
                    "-MD", "-MT", "src/CMakeFiles/app.dir/main.cpp.o", "-MF", "/home/ann/proj/build/main.cpp.o.d",
                    "-o", "/home/ann/proj/build/src/main.cpp.o", "-c", "/home/ann/proj/src/main.cpp"};
const std::string kCompileKey = "g++ compile main.cpp -o main.cpp.o -O2 -std=c++20 -flto=auto";

Argv with_prefix(Argv prefix, const Argv& argv) {
    prefix.insert(prefix.end(), argv.begin(), argv.end());
    return prefix;
}

}  // namespace

TEST(Signature, CompileKeyHasToolModeSourceOutputOptAndLto) {
    auto s = command_signature(kCompile);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, kCompileKey);
    EXPECT_EQ(s->tool, "g++");
    EXPECT_FALSE(s->is_link);
    EXPECT_TRUE(s->link_inputs.empty());
}

// The same source under another language standard is another job (json3's
// tests build unit-conversions.cpp as C++11 and as C++17: 876 and 995 MiB).
TEST(Signature, TheLanguageStandardTellsJobsApart) {
    Argv a{"/usr/bin/g++", "-O2", "-std=gnu++11", "-o", "t11.dir/src/u.cpp.o", "-c", "/src/u.cpp"};
    Argv b{"/usr/bin/g++", "-O2", "-std=gnu++17", "-o", "t17.dir/src/u.cpp.o", "-c", "/src/u.cpp"};
    auto sa = command_signature(a), sb = command_signature(b);
    ASSERT_TRUE(sa && sb);
    EXPECT_NE(sa->key, sb->key);
    EXPECT_EQ(sa->key, "g++ compile u.cpp -o u.cpp.o -O2 -std=gnu++11");
}

TEST(Signature, OtherBuildDirectoriesAndPackageVersionsMatch) {
    Argv elsewhere{"g++", "-O2", "-flto=auto", "-std=c++20", "-c", "../src/main.cpp", "-o", "src/main.cpp.o", "-I", "/opt/inc"};
    EXPECT_EQ(key_of(elsewhere), kCompileKey);
    // Gentoo builds the next version of a package in another directory.
    auto gentoo = [](const std::string& version) {
        std::string work = "/var/tmp/portage/dev-qt/qtbase-" + version + "/work/qtbase-" + version;
        return key_of({"x86_64-pc-linux-gnu-g++", "-O2", "-pipe", "-c", work + "/src/corelib/qstring.cpp", "-o",
                       work + "_build/src/corelib/qstring.cpp.o"});
    };
    EXPECT_EQ(gentoo("6.5.1"), gentoo("6.5.2"));
    EXPECT_EQ(gentoo("6.5.1"), "x86_64-pc-linux-gnu-g++ compile qstring.cpp -o qstring.cpp.o -O2");
}

TEST(Signature, OptimisationAndLtoTellJobsApart) {
    EXPECT_EQ(key_of({"gcc", "-c", "a.c"}), "gcc compile a.c");  // the default level: nothing shown
    EXPECT_EQ(key_of({"gcc", "-O3", "-c", "a.c", "-O0"}), "gcc compile a.c -O0");  // the last -O wins
    EXPECT_EQ(key_of({"gcc", "-O", "-c", "a.c"}), "gcc compile a.c -O1");
    EXPECT_EQ(key_of({"clang", "-Oz", "-c", "a.c"}), "clang compile a.c -Oz");
    EXPECT_EQ(key_of({"gcc", "-Os", "-flto", "-fwhole-program", "-c", "a.c"}), "gcc compile a.c -Os -flto -fwhole-program");
    EXPECT_EQ(key_of({"gcc", "-flto", "-fno-lto", "-c", "a.c"}), "gcc compile a.c");
    EXPECT_NE(key_of({"gcc", "-O2", "-c", "a.c"}), key_of({"gcc", "-O3", "-c", "a.c"}));
    EXPECT_NE(key_of({"gcc", "-O2", "-c", "a.c"}), key_of({"gcc", "-O2", "-flto=thin", "-c", "a.c"}));
    // Defines, includes and warnings do not matter; the source and the output do.
    EXPECT_EQ(key_of({"gcc", "-c", "a.c", "-DX=1", "-Wall"}), key_of({"gcc", "-Wextra", "-c", "a.c", "-I", "inc"}));
    EXPECT_NE(key_of({"gcc", "-c", "a.c", "-o", "a.o"}), key_of({"gcc", "-c", "a.c", "-o", "a.pic.o"}));
}

TEST(Signature, ValuesOfOptionsAreNotTakenForTheSource) {
    EXPECT_EQ(key_of({"g++", "-include", "pch.hpp", "-x", "c++", "-MF", "dep.d", "-c", "real.cpp"}),
              "g++ compile real.cpp");
    EXPECT_EQ(key_of({"clang++", "-Xclang", "-fno-pch-timestamp", "-c", "x.cc", "-ofoo.o"}),
              "clang++ compile x.cc -o foo.o");
}

TEST(Signature, CrossAndVersionedCompilerNames) {
    for (const char* tool : {"x86_64-linux-gnu-g++", "aarch64-unknown-linux-gnu-gcc-12", "g++-12", "clang++-14", "cc",
                             "c++", "clang"}) {
        SCOPED_TRACE(tool);
        auto s = command_signature({tool, "-c", "x.cpp", "-O2"});
        ASSERT_TRUE(s);
        EXPECT_EQ(s->key, std::string(tool) + " compile x.cpp -O2");
    }
    // Not compilers, though they end like one.
    EXPECT_EQ(key_of({"mycc", "-c", "x.cpp"}), "mycc -c x.cpp");
}

TEST(Signature, CompilerProperLeavesOutItsTemporaryOutput) {
    Argv cc1plus{"/usr/lib/gcc/x86_64-linux-gnu/12/cc1plus", "-quiet", "-I", "include", "-imultiarch",
                 "x86_64-linux-gnu", "-D_GNU_SOURCE", "/src/big.cpp", "-quiet", "-dumpdir", "obj/", "-dumpbase",
                 "big.cpp", "-dumpbase-ext", ".cpp", "-mtune=generic", "-O2", "-o", "/tmp/ccAb3dE9.s"};
    auto s = command_signature(cc1plus);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "cc1plus compile big.cpp -O2");
    EXPECT_EQ(s->tool, "cc1plus");
    cc1plus.back() = "/tmp/ccZZ11yy.s";  // another run, another temporary name
    EXPECT_EQ(key_of(cc1plus), "cc1plus compile big.cpp -O2");
    // clang -cc1's temporary object
    EXPECT_EQ(key_of({"clang", "-cc1", "-triple", "x86_64-pc-linux-gnu", "-emit-obj", "-main-file-name", "m.c", "-O2",
                      "-o", "/tmp/m-9f3a1c.o", "-x", "c", "/src/m.c"}),
              "clang compile m.c -O2");
}

TEST(Signature, WrappersAreSkipped) {
    for (const Argv& prefix : {Argv{"ccache"}, Argv{"/usr/bin/distcc"}, Argv{"icecc"}, Argv{"sccache"},
                               Argv{"env", "CCACHE_DIR=/var/cache/ccache", "LANG=C"}, Argv{"env", "-u", "X", "-i"},
                               Argv{"nice", "-n", "10"}, Argv{"nice", "-5"}, Argv{"ionice", "-c", "3"},
                               Argv{"ionice", "-c3", "-n7"}, Argv{"time", "-v"}, Argv{"/usr/bin/time", "-o", "t.log"},
                               Argv{"nice", "ccache"}, Argv{"env", "A=1", "nice", "-n", "19", "ccache"}}) {
        Argv argv = with_prefix(prefix, kCompile);
        SCOPED_TRACE(argv[0] + " " + argv[1]);
        auto s = command_signature(argv);
        ASSERT_TRUE(s);
        EXPECT_EQ(s->key, kCompileKey);
        EXPECT_EQ(s->tool, "g++");
    }
    // ccache's own commands are not compiles
    EXPECT_EQ(key_of({"ccache", "-s"}), "ccache -s");
}

TEST(Signature, ShellCommandsTakeTheirFirstRealCommand) {
    // make's recipes and ninja's commands run through /bin/sh -c.
    EXPECT_EQ(key_of({"/bin/sh", "-c", "cd /home/ann/proj/build/src && /usr/bin/g++ -O2 -flto=auto -std=c++20 -c "
                                      "/home/ann/proj/src/main.cpp -o CMakeFiles/app.dir/main.cpp.o"}),
              kCompileKey);
    EXPECT_EQ(key_of({"/bin/sh", "-c", "ccache /usr/bin/c++ -DX -O3 -o obj/main.o -c ../../src/main.cpp"}),
              "c++ compile main.cpp -o main.o -O3");
    // Builtins and setup commands (cd, set, export, mkdir, rm, echo, …) are skipped, wherever they are.
    EXPECT_EQ(key_of({"bash", "-ec", "set -o pipefail; export X=1; mkdir -p out; rm -f out/a.o; echo CC a.c; "
                                     "gcc -c a.c -o out/a.o | tee log"}),
              "gcc compile a.c -o a.o");
    EXPECT_EQ(key_of({"sh", "-c", "if [ -d x ]; then g++ -c y.cpp; fi"}), "g++ compile y.cpp");
    EXPECT_EQ(key_of({"sh", "-c", "(cd sub; exec nice g++ -c s.cpp)"}), "g++ compile s.cpp");
    // Assignments, quotes and redirections
    EXPECT_EQ(key_of({"dash", "-c", "LC_ALL=C FOO='a b' \"g++\" -c 'my file.cpp' -o \"my file.o\" 2>&1 >/dev/null"}),
              "g++ compile my file.cpp -o my file.o");
    // A shell running a nested shell
    EXPECT_EQ(key_of({"sh", "-c", "sh -c 'gcc -c inner.c'"}), "gcc compile inner.c");
    // A script: the script is the tool (libtool is a wrapper of its own)
    EXPECT_EQ(key_of({"/bin/sh", "../libtool", "--tag=CXX", "--mode=compile", "g++", "-O2", "-c", "foo.cpp", "-o",
                      "foo.lo"}),
              "g++ compile foo.cpp -o foo.lo -O2");
    EXPECT_EQ(key_of({"bash", "/src/gen.sh", "--out", "/b/x.h"}), "gen.sh --out x.h");
}

TEST(Signature, FirstShellCommandSplitsLikeAShell) {
    EXPECT_EQ(first_shell_command("cd a && X=1 exec g++ -c \"q \\\"x\\\".cpp\" 'it''s' \\$HOME # comment"),
              (Argv{"g++", "-c", "q \"x\".cpp", "its", "$HOME"}));
    EXPECT_EQ(first_shell_command("true || false; echo hi > f; ld -o a a.o <in"), (Argv{"ld", "-o", "a", "a.o"}));
    EXPECT_EQ(first_shell_command("cc x.c&>log"), (Argv{"cc", "x.c"}));
    EXPECT_TRUE(first_shell_command("cd x; : nothing").empty());
    EXPECT_TRUE(first_shell_command("for f in *.c; do gcc -c $f; done").empty());
    EXPECT_TRUE(first_shell_command("").empty());
    EXPECT_TRUE(first_shell_command("'unterminated").size() == 1);
}

TEST(Signature, LinksListTheirInputs) {
    auto s = command_signature({"g++", "-O2", "-flto=auto", "-o", "/b/bin/app", "/b/main.o", "util.o", "../lib/libfoo.a",
                                "/usr/lib/libz.so.1.2.13", "libbar.so", "-L/opt/lib", "-lpthread", "-Wl,--as-needed"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "g++ link -o app -O2 -flto=auto");
    EXPECT_TRUE(s->is_link);
    EXPECT_EQ(s->link_inputs,
              (Argv{"/b/main.o", "util.o", "../lib/libfoo.a", "/usr/lib/libz.so.1.2.13", "libbar.so"}));

    // gcc's collect2 and the linkers it runs
    Argv collect2{"/usr/lib/gcc/x86_64-linux-gnu/12/collect2", "-plugin",
                  "/usr/lib/gcc/x86_64-linux-gnu/12/liblto_plugin.so",
                  "-plugin-opt=-fresolution=/tmp/ccX1y2Z3.res", "--build-id", "--eh-frame-hdr", "-m", "elf_x86_64",
                  "--hash-style=gnu", "-dynamic-linker", "/lib64/ld-linux-x86-64.so.2", "-pie", "-z", "now", "-o",
                  "app", "/usr/lib/x86_64-linux-gnu/Scrt1.o", "-L/usr/lib", "main.o", "big.o", "-lstdc++", "-lm",
                  "/usr/lib/gcc/x86_64-linux-gnu/12/crtendS.o"};
    s = command_signature(collect2);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "collect2 link -o app");
    EXPECT_TRUE(s->is_link);
    EXPECT_EQ(s->link_inputs,
              (Argv{"/usr/lib/x86_64-linux-gnu/Scrt1.o", "main.o", "big.o", "/usr/lib/gcc/x86_64-linux-gnu/12/crtendS.o"}));

    s = command_signature({"ld.lld", "--lto-O3", "-o", "out/chrome", "@chrome.rsp", "a.o", "b.a", "-O2"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "ld.lld link -o chrome -O2 --lto-O3");
    EXPECT_EQ(s->link_inputs, (Argv{"a.o", "b.a"}));
    for (const char* ld : {"ld", "ld.bfd", "ld.gold", "mold", "lld", "x86_64-pc-linux-gnu-ld.bfd"}) {
        SCOPED_TRACE(ld);
        s = command_signature({ld, "-o", "x", "y.o"});
        ASSERT_TRUE(s);
        EXPECT_TRUE(s->is_link);
        EXPECT_EQ(s->key, std::string(ld) + " link -o x");
    }
    // libtool links .lo and .la
    s = command_signature({"libtool", "--mode=link", "g++", "-o", "libq.la", "a.lo", "b.lo", "../x/libz.la"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->link_inputs, (Argv{"a.lo", "b.lo", "../x/libz.la"}));
    // A compile has no link inputs, and a driver run with no input is neither.
    EXPECT_FALSE(command_signature({"gcc", "-c", "a.c"})->is_link);
    EXPECT_EQ(key_of({"gcc", "--version"}), "gcc other");
}

TEST(Signature, TheNumberOfInputsIsNotPartOfTheKey) {
    EXPECT_EQ(key_of({"g++", "-o", "app", "a.o"}), key_of({"g++", "-o", "app", "a.o", "b.o", "c.o"}));
}

TEST(Signature, Rustc) {
    auto s = command_signature({"rustc", "--crate-name", "serde", "--edition=2018",
                                "/root/.cargo/registry/src/serde-1.0.1/src/lib.rs", "--crate-type", "lib", "-C",
                                "opt-level=3", "-C", "lto", "--out-dir", "/t/release/deps"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "rustc compile serde opt-level=3 -Clto");
    EXPECT_EQ(s->tool, "rustc");
}

TEST(Signature, UnknownToolsKeepEveryArgumentWithPathsReduced) {
    auto s = command_signature({"/work/build/tests/fakebuild/hog", "--mib", "700", "--cpu-s", "5", "--shape", "early",
                                "--out", "/tmp/x/big.o"});
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "hog --mib 700 --cpu-s 5 --shape early --out big.o");
    EXPECT_EQ(s->tool, "hog");
    EXPECT_FALSE(s->is_link);
    EXPECT_EQ(key_of({"hog", "--mib", "700", "--out=/other/dir/big.o"}), "hog --mib 700 --out=big.o");
    EXPECT_NE(key_of({"hog", "--mib", "700"}), key_of({"hog", "--mib", "500"}));
    EXPECT_EQ(key_of({"python3", "/src/tools/gen.py", "dir/"}), "python3 gen.py dir");
}

TEST(Signature, NothingToPredict) {
    for (const Argv& argv : {Argv{}, Argv{""}, Argv{"make", "-j4"}, Argv{"/usr/bin/ninja", "-C", "out"},
                             Argv{"cmake", "--build", "."}, Argv{"emerge", "-1", "qtwebengine"}, Argv{"sh"},
                             Argv{"bash", "-i"}, Argv{"sh", "-c"}, Argv{"sh", "-c", ""},
                             Argv{"sh", "-c", "make -C sub all"}, Argv{"sh", "-c", "cd x && mkdir -p y; echo done"},
                             Argv{"env", "X=1"}, Argv{"nice"}, Argv{"ccache"}, Argv{"env", "X=1", "make"},
                             Argv{"sh", "-c", "while true; do g++ -c a.c; done"}}) {
        std::string shown;
        for (const auto& a : argv) shown += "[" + a + "]";
        SCOPED_TRACE(shown);
        EXPECT_FALSE(command_signature(argv));
    }
}

TEST(Signature, VeryLongCommandsStayBoundedAndStable) {
    Argv hog{"hog"};
    for (int i = 0; i < 20000; i++) hog.push_back("/some/long/directory/name/file" + std::to_string(i) + ".dat");
    auto a = command_signature(hog);
    ASSERT_TRUE(a);
    EXPECT_LE(a->key.size(), kMaxSignatureKey);
    EXPECT_EQ(a->key.rfind("hog file0.dat file1.dat", 0), 0u) << a->key.substr(0, 80);
    EXPECT_EQ(command_signature(hog)->key, a->key);  // the same every time
    hog.back() = "other.dat";                        // a difference past the cut still tells them apart
    EXPECT_NE(command_signature(hog)->key, a->key);

    // A link of 20,000 objects: a short key, every input listed (its speed is no test's business).
    Argv link{"ld.gold", "-o", "/b/huge"};
    for (int i = 0; i < 20000; i++) link.push_back("/b/obj/dir" + std::to_string(i % 97) + "/f" + std::to_string(i) + ".o");
    auto s = command_signature(link);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->key, "ld.gold link -o huge");
    EXPECT_EQ(s->link_inputs.size(), 20000u);
}

// Found by fuzz_signature: a wrapper's option that wants a value as the last
// word ("nice -n") moved past the end of the argv (undefined behaviour).
TEST(Signature, WrapperOptionWithoutItsValue) {
    for (std::vector<std::string> argv : {std::vector<std::string>{"nice", "-n"}, {"env", "A=1", "nice", "-n"},
                                          {"ionice", "-c"}, {"time", "-o"}, {"env", "-u"}})
        EXPECT_FALSE(command_signature(argv)) << argv[0];
}
