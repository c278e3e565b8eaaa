// The history store (userspace/history/history.hpp) and `swamp-bpf history` on temporary databases:
// persistence, pruning, and the failure modes (corrupt, locked, unwritable), none of which may crash or block.
#include <algorithm>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.hpp"
#include "history/history.hpp"
#include "test_util.hpp"
#include "util/error.hpp"

using namespace swamp;
using namespace swamp::test;

namespace {

constexpr uint64_t MiB = 1ull << 20;

double ms_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

RunRecord rec(const std::string& key, uint64_t peak_mib, double duration_s = 2, bool complete = true) {
    RunRecord r;
    r.key = key;
    r.tool = key.substr(0, key.find(' '));
    r.command = key + " --full";
    r.peak = peak_mib * MiB;
    r.duration_s = duration_s;
    r.complete = complete;
    r.unix_time = 1700000000;
    return r;
}

// Another process's connection to the same database, as a test's accomplice.
struct RawDb {
    sqlite3* db = nullptr;
    explicit RawDb(const std::string& path) { EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK); }
    ~RawDb() { sqlite3_close(db); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << sql << ": " << (err ? err : "");
        sqlite3_free(err);
    }
};

struct Db {
    TempDir dir;
    std::string path = dir.path + "/lib/swamp-bpf/history.db";
};

}  // namespace

TEST(History, CreatesItsDirectoryAndFileWithTheirModes) {
    Db d;
    auto h = History::open(d.path);
    EXPECT_TRUE(h->usable()) << h->warning();
    EXPECT_EQ(h->warning(), "");
    struct stat dir_st, file_st;
    ASSERT_EQ(stat((d.dir.path + "/lib/swamp-bpf").c_str(), &dir_st), 0);
    ASSERT_EQ(stat(d.path.c_str(), &file_st), 0);
    EXPECT_EQ(dir_st.st_mode & 07777, 0700u);  // every user's command lines: root's only
    EXPECT_EQ(file_st.st_mode & 07777, 0600u);
    EXPECT_FALSE(h->predict("gcc compile a.c"));  // nothing recorded yet
    ASSERT_EQ(stat((d.path + "-wal").c_str(), &file_st), 0);  // SQLite gives it the database's mode
    EXPECT_EQ(file_st.st_mode & 07777, 0600u);
    EXPECT_EQ(h->note(), "");
}

TEST(History, TightensAnOlderDatabaseAndItsOwnDirectory) {
    Db d;
    History::open(d.path).reset();
    std::string dir = d.dir.path + "/lib/swamp-bpf";
    chmod(dir.c_str(), 0755);  // as an older swamp-bpf made them
    chmod(d.path.c_str(), 0644);
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_EQ(stat(d.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(h->note(), "");
}

TEST(History, LeavesASharedDirectoryAloneAndSaysSo) {
    Db d;
    std::string dir = d.dir.path + "/lib/swamp-bpf";
    ASSERT_EQ(mkdir((d.dir.path + "/lib").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    std::ofstream(dir + "/other-file") << "x";
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    struct stat st;
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0755u);
    EXPECT_NE(h->note().find(dir + " lets other users in (mode 0755)"), std::string::npos) << h->note();
    ASSERT_EQ(stat(d.path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(History, RefusesASymlinkedDatabase) {
    Db d;
    std::string dir = d.dir.path + "/lib/swamp-bpf", victim = d.dir.path + "/victim";
    std::filesystem::create_directories(dir);
    std::ofstream(victim) << "precious";
    ASSERT_EQ(symlink(victim.c_str(), d.path.c_str()), 0);
    auto h = History::open(d.path);
    EXPECT_FALSE(h->usable());
    EXPECT_NE(h->warning().find("symbolic link"), std::string::npos) << h->warning();
    std::ifstream in(victim);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "precious");
}

TEST(History, RecordPredictsAtOnceAndPersistsAcrossReopen) {
    Db d;
    {
        auto h = History::open(d.path);
        ASSERT_TRUE(h->usable()) << h->warning();
        RunRecord first = rec("hog --mib 700", 700, 5);
        first.peak_at_s = 4.5;
        h->record(first);
        h->record(rec("hog --mib 700", 650, 4));
        h->record(rec("gcc compile a.c", 80));
        auto p = h->predict("hog --mib 700");  // from memory, before any write
        ASSERT_TRUE(p);
        EXPECT_EQ(p->peak, 770 * MiB);  // 700 + 10%
        EXPECT_EQ(p->runs, 2);
        EXPECT_EQ(p->duration_s, 5);
    }  // the destructor flushes
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    EXPECT_EQ(h->keys(), 2u);
    auto p = h->predict("hog --mib 700");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->peak, 770 * MiB);
    EXPECT_EQ(p->runs, 2);
    EXPECT_EQ(p->peak_at_s, 0) << "the second run's peak came at 0 s";
    EXPECT_EQ(h->predict("gcc compile a.c")->peak, 96 * MiB);  // 80 + the 16M minimum
    EXPECT_FALSE(h->predict("gcc compile b.c"));

    auto stored = read_history(d.path);
    ASSERT_EQ(stored.runs.size(), 3u);
    auto first = std::find_if(stored.runs.begin(), stored.runs.end(), [](const RunRecord& r) { return r.peak == 700 * MiB; });
    ASSERT_NE(first, stored.runs.end());
    EXPECT_EQ(first->peak_at_s, 4.5) << "when its peak came is stored";
    EXPECT_EQ(stored.runs[0].key, "gcc compile a.c");
    EXPECT_EQ(stored.runs[1].command, "hog --mib 700 --full");
    EXPECT_EQ(stored.runs[1].peak, 700 * MiB);  // oldest first within a key
    EXPECT_EQ(stored.runs[2].peak, 650 * MiB);
    EXPECT_EQ(stored.runs[2].unix_time, 1700000000);
}

TEST(History, KeepsTheLast20RunsPerKey) {
    Db d;
    {
        auto h = History::open(d.path, {.last_k = 20, .margin = 0, .min_margin = 0});
        for (uint64_t i = 1; i <= 25; i++) h->record(rec("ld link -o app", i));
        h->record(rec("other", 1));
        h->flush();
        EXPECT_EQ(h->written(), 26u);
    }
    auto stored = read_history(d.path);
    std::vector<uint64_t> peaks;
    for (const auto& r : stored.runs)
        if (r.key == "ld link -o app") peaks.push_back(r.peak / MiB);
    ASSERT_EQ(peaks.size(), size_t(kRunsKeptPerKey));
    EXPECT_EQ(peaks.front(), 6u);  // runs 1 to 5 were deleted
    EXPECT_EQ(peaks.back(), 25u);
    EXPECT_EQ(stored.runs.size(), 21u);
    // In memory too: the max of the last k only.
    auto h = History::open(d.path, {.last_k = 3, .margin = 0, .min_margin = 0});
    EXPECT_EQ(h->predict("ld link -o app")->peak, 25 * MiB);
    EXPECT_EQ(h->predict("ld link -o app")->runs, 3);
}

TEST(History, CorruptFileWarnsAndPredictsNothing) {
    Db d;
    auto h0 = History::open(d.path);  // creates the directory
    h0.reset();
    {
        std::ofstream garbage(d.path, std::ios::binary | std::ios::trunc);
        for (int i = 0; i < 4096; i++) garbage.put(char((i * 7919) % 251));
    }
    auto h = History::open(d.path);
    EXPECT_FALSE(h->usable());
    EXPECT_TRUE(contains(h->warning(), d.path)) << h->warning();
    EXPECT_TRUE(contains(h->warning(), "file is not a database")) << h->warning();
    EXPECT_TRUE(contains(h->warning(), "reactive only")) << h->warning();
    EXPECT_EQ(h->warning().find('\n'), std::string::npos);
    h->record(rec("gcc compile a.c", 80));  // ignored, no crash
    h->flush();
    EXPECT_FALSE(h->predict("gcc compile a.c"));

    try {
        read_history(d.path);
        ADD_FAILURE() << "read_history accepted a corrupt file";
    } catch (const UserError& e) {
        EXPECT_EQ(e.code(), ExitCode::History);
        EXPECT_TRUE(contains(e.what(), d.path + ": file is not a database")) << e.what();
    }
}

TEST(History, LockedDatabaseWarnsWithinBoundedTime) {
    Db d;
    History::open(d.path).reset();  // the directory
    std::remove(d.path.c_str());
    // Another process holds an exclusive transaction on a rollback-journal database.
    RawDb other(d.path);
    other.exec("PRAGMA journal_mode = DELETE; CREATE TABLE t (x); BEGIN EXCLUSIVE; INSERT INTO t VALUES (1);");
    auto start = std::chrono::steady_clock::now();
    auto h = History::open(d.path);
    double ms = ms_since(start);
    EXPECT_FALSE(h->usable());
    EXPECT_GE(ms, History::kOpenBusyTimeoutMs * 0.8);  // it did wait for the lock, and then gave up
    EXPECT_TRUE(contains(h->warning(), "database is locked")) << h->warning();
    EXPECT_TRUE(contains(h->warning(), d.path)) << h->warning();
    EXPECT_FALSE(h->predict("x"));
    other.exec("COMMIT");
}

TEST(History, UnwritablePathWarns) {
    TempFile file;  // a file where the directory should be
    auto h = History::open(file.path + "/history.db");
    EXPECT_FALSE(h->usable());
    EXPECT_TRUE(contains(h->warning(), file.path + " is not a directory")) << h->warning();
    h->record(rec("a", 1));
    EXPECT_FALSE(h->predict("a"));

    auto relative = History::open("history.db");
    EXPECT_FALSE(relative->usable());
    EXPECT_TRUE(contains(relative->warning(), "not an absolute path")) << relative->warning();
}

TEST(History, NewerSchemaIsLeftAlone) {
    Db d;
    History::open(d.path).reset();
    RawDb(d.path).exec("PRAGMA user_version = 99");
    auto h = History::open(d.path);
    EXPECT_FALSE(h->usable());
    EXPECT_TRUE(contains(h->warning(), "newer swamp-bpf (schema 99")) << h->warning();
}

// Schema 1 (no target or package) is read as it is by the CLI, and brought up to schema 2 by the
// controller, its runs kept; runs written since carry their target and package.
TEST(History, ASchemaOneDatabaseIsReadAndMigratedWithItsRuns) {
    Db d;
    std::filesystem::create_directories(std::filesystem::path(d.path).parent_path());
    RawDb(d.path).exec(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, key TEXT NOT NULL, tool TEXT NOT NULL, command TEXT NOT NULL,"
        " peak INTEGER NOT NULL, duration_s REAL NOT NULL, peak_at_s REAL NOT NULL, inputs INTEGER NOT NULL,"
        " input_bytes INTEGER NOT NULL, complete INTEGER NOT NULL, unix_time INTEGER NOT NULL);"
        "CREATE INDEX runs_by_key ON runs (key, id); PRAGMA user_version = 1;"
        "INSERT INTO runs (key, tool, command, peak, duration_s, peak_at_s, inputs, input_bytes, complete, unix_time)"
        " VALUES ('old', 'g++', 'g++ -c old.cpp', 104857600, 2, 1, 0, 0, 1, 0);");
    auto before = read_history(d.path);
    ASSERT_EQ(before.runs.size(), 1u);
    EXPECT_EQ(before.runs[0].target, "");

    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    EXPECT_EQ(h->predict("old")->peak, 116 * MiB);  // 100 + 16 (the minimum margin): the old run counts
    auto r = rec("g++ compile new.cpp -O2", 300);
    r.target = "new.o";
    r.package = "dev-libs/foo-1.0";
    h->record(r);
    h.reset();

    auto after = read_history(d.path);
    ASSERT_EQ(after.runs.size(), 2u);
    EXPECT_EQ(after.runs[0].key, "g++ compile new.cpp -O2");
    EXPECT_EQ(after.runs[0].target, "new.o");
    EXPECT_EQ(after.runs[0].package, "dev-libs/foo-1.0");
    EXPECT_EQ(after.runs[1].key, "old");
    EXPECT_EQ(after.runs[1].target, "");
    auto list = run_main({"history", "list", "--db", d.path});
    EXPECT_TRUE(contains(list.out, "new.o (dev-libs/foo-1.0)")) << list.out;
}

// The controller calls record() on its event loop: it must return at once even while another
// writer holds the database, and the runs are written once the lock is gone.
TEST(History, RecordNeverBlocksWhileAnotherWriterHoldsTheLock) {
    Db d;
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    RawDb other(d.path);
    other.exec("BEGIN EXCLUSIVE; INSERT INTO runs (key, tool, command, peak, duration_s, peak_at_s, inputs, input_bytes,"
               " complete, unix_time) VALUES ('held', 'x', 'x', 1, 1, 0, 0, 0, 1, 0);");
    // A record() that wrote itself would fail on the lock (a warning, a lost run); these queue.
    for (int i = 0; i < 200; i++) h->record(rec("hog --mib " + std::to_string(i), 100 + i));
    EXPECT_EQ(h->predict("hog --mib 7")->peak, 123 * MiB);  // memory is up to date at once
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(h->written(), 0u);  // still waiting for the lock
    other.exec("COMMIT");
    h->flush();
    EXPECT_EQ(h->written(), 200u);
    EXPECT_EQ(h->dropped(), 0u);
    EXPECT_EQ(h->warning(), "");
    EXPECT_EQ(read_history(d.path).runs.size(), 201u);
}

TEST(History, AFullQueueDropsAndCountsInsteadOfBlocking) {
    Db d;
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    RawDb other(d.path);
    other.exec("BEGIN EXCLUSIVE; DELETE FROM runs;");
    // The writer takes one batch (at most a full queue) and waits for the lock; the queue then fills.
    // A record() that blocked on the full queue would wait here for ever (the lock is ours till COMMIT).
    const int n = 2 * int(History::kQueueCapacity) + 1000;
    for (int i = 0; i < n; i++) h->record(rec("k" + std::to_string(i), 1));
    EXPECT_GE(h->dropped(), 1000u);
    other.exec("COMMIT");
    h->flush();
    EXPECT_EQ(h->written() + h->dropped(), uint64_t(n));
}

TEST(History, AFailedWriteWarnsOnceAndKeepsPredicting) {
    Db d;
    auto h = History::open(d.path);
    ASSERT_TRUE(h->usable()) << h->warning();
    RawDb(d.path).exec("DROP TABLE runs");  // someone broke the database under us
    h->record(rec("a", 100));
    h->flush();
    EXPECT_TRUE(contains(h->warning(), "cannot record runs: no such table: runs")) << h->warning();
    EXPECT_EQ(h->dropped(), 1u);
    std::string first = h->warning();
    h->record(rec("a", 200));
    h->flush();
    EXPECT_EQ(h->warning(), first);  // set once
    EXPECT_EQ(h->predict("a", 0)->peak, 220 * MiB);  // 200 + 10%
}

// ---- swamp-bpf history list|export|forget --------------------------------------------------------

namespace {

// A database with three keys: big (2 runs), small (1 run, killed), mid (1 run).
void fill(const std::string& path) {
    auto h = History::open(path);
    ASSERT_TRUE(h->usable()) << h->warning();
    h->record(rec("ld.lld link -o chrome", 3000, 60));
    h->record(rec("ld.lld link -o chrome", 3500, 70));
    h->record(rec("gcc compile small.c -O2", 50, 0.5, false));
    auto mid = rec("g++ compile mid.cpp -O2", 700, 12);
    mid.command = "g++ -O2 -c \"mid\".cpp";
    h->record(mid);
}

std::vector<std::string> lines_of(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> lines;
    for (std::string l; std::getline(in, l);) lines.push_back(l);
    return lines;
}

}  // namespace

TEST(HistoryCli, ListShowsOneRowPerKeyBiggestFirst) {
    Db d;
    fill(d.path);
    auto r = run_main({"history", "list", "--db", d.path});
    EXPECT_EQ(r.code, 0) << r.err;
    auto rows = lines_of(r.out);
    ASSERT_EQ(rows.size(), 5u) << r.out;
    EXPECT_TRUE(contains(rows[0], "PREDICTED") && contains(rows[0], "LAST PEAK") && contains(rows[0], "RUNS") &&
                contains(rows[0], "TOOL") && contains(rows[0], "TARGET") && contains(rows[0], "SIGNATURE"))
        << rows[0];
    EXPECT_TRUE(contains(rows[1], "3.76G") && contains(rows[1], "3.42G") && contains(rows[1], "70.0 s") &&
                contains(rows[1], "ld.lld") && contains(rows[1], "ld.lld link -o chrome"))
        << rows[1];
    EXPECT_TRUE(contains(rows[1], "    2 ")) << rows[1];  // runs
    EXPECT_TRUE(contains(rows[2], "mid.cpp")) << rows[2];
    EXPECT_TRUE(contains(rows[3], "small.c") && contains(rows[3], "50.0M+")) << rows[3];  // killed: a lower bound
    EXPECT_EQ(rows[4], "3 signatures, 4 runs in " + d.path);
    // --db before the action too
    EXPECT_EQ(run_main({"history", "--db", d.path, "list"}).out, r.out);
}

TEST(HistoryCli, ExportWritesEveryRunAsJson) {
    Db d;
    fill(d.path);
    auto r = run_main({"history", "export", "--db", d.path});
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<nlohmann::json> runs;
    for (const auto& l : lines_of(r.out)) runs.push_back(nlohmann::json::parse(l));
    ASSERT_EQ(runs.size(), 4u);
    const auto& mid = runs[0];  // keys sorted: "g++ …" < "gcc …" < "ld.lld …"
    EXPECT_EQ(mid["key"], "g++ compile mid.cpp -O2");
    EXPECT_EQ(mid["tool"], "g++");
    EXPECT_EQ(mid["command"], "g++ -O2 -c \"mid\".cpp");
    EXPECT_EQ(mid["peak"], 700 * MiB);
    EXPECT_EQ(mid["duration_s"], 12.0);
    EXPECT_EQ(mid["complete"], true);
    EXPECT_EQ(mid["unix_time"], 1700000000);
    EXPECT_EQ(runs[1]["complete"], false);
    for (const char* field : {"inputs", "input_bytes"}) EXPECT_TRUE(mid.contains(field)) << field;
}

TEST(HistoryCli, ForgetByPatternOrAll) {
    Db d;
    fill(d.path);
    auto r = run_main({"history", "forget", "chrome", "--db", d.path});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out, "forgot 2 runs of 1 signature containing \"chrome\" in " + d.path + "\n");
    EXPECT_FALSE(contains(run_main({"history", "list", "--db", d.path}).out, "chrome"));
    auto none = run_main({"history", "forget", "nothing-like-this", "--db", d.path});
    EXPECT_TRUE(contains(none.out, "forgot 0 runs of 0 signatures")) << none.out;
    // The pattern is a plain substring: % and _ are not wildcards.
    EXPECT_TRUE(contains(run_main({"history", "forget", "%", "--db", d.path}).out, "forgot 0 runs"));
    auto all = run_main({"history", "forget", "--all", "--db", d.path});
    EXPECT_EQ(all.out, "forgot 2 runs of 2 signatures in " + d.path + "\n");
    EXPECT_EQ(run_main({"history", "list", "--db", d.path}).out, "no runs recorded yet in " + d.path + "\n");
}

TEST(HistoryCli, MissingDatabaseIsNotAnError) {
    TempDir dir;
    std::string path = dir.path + "/none.db";
    auto list = run_main({"history", "list", "--db", path});
    EXPECT_EQ(list.code, 0);
    EXPECT_EQ(list.out, "no history yet at " + path + "\n");
    auto exp = run_main({"history", "export", "--db", path});
    EXPECT_EQ(exp.code, 0);
    EXPECT_EQ(exp.out, "");  // stdout stays valid (empty) JSON lines
    EXPECT_EQ(exp.err, "no history yet at " + path + "\n");
    auto forget = run_main({"history", "forget", "--all", "--db", path});
    EXPECT_EQ(forget.code, 0);
    EXPECT_TRUE(contains(forget.out, "no history yet")) << forget.out;
    struct stat st;
    EXPECT_NE(stat(path.c_str(), &st), 0);  // and none was created
}

TEST(HistoryCli, CorruptDatabaseExits9) {
    TempFile garbage(std::string(2048, 'x'));
    for (auto action : {"list", "export"}) {
        auto r = run_main({"history", action, "--db", garbage.path});
        EXPECT_EQ(r.code, int(ExitCode::History)) << action;
        EXPECT_TRUE(contains(r.err, garbage.path + ": file is not a database")) << r.err;
        EXPECT_TRUE(contains(r.err, "move the file away")) << r.err;
    }
    auto forget = run_main({"history", "forget", "--all", "--db", garbage.path});
    EXPECT_EQ(forget.code, int(ExitCode::History)) << forget.err;
}

TEST(HistoryCli, Usage) {
    auto none = run({"history"});
    ASSERT_TRUE(none.cli.exit_now);
    EXPECT_EQ(*none.cli.exit_now, 2);
    for (std::vector<std::string> bad : {std::vector<std::string>{"history", "forget"},
                                         {"history", "forget", "x", "--all"},
                                         {"history", "forget", ""},
                                         {"history", "bogus"}}) {
        auto r = run(bad);
        ASSERT_TRUE(r.cli.exit_now) << bad.back();
        EXPECT_EQ(*r.cli.exit_now, 2) << bad.back();
    }
    auto ok = run({"history", "list"});
    ASSERT_FALSE(ok.cli.exit_now) << ok.err;
    EXPECT_EQ(ok.cli.command, Command::History);
    EXPECT_EQ(ok.cli.history.db, kDefaultHistoryDb);
    EXPECT_EQ(ok.cli.history.action, HistoryOptions::Action::List);
    auto forget = run({"history", "forget", "cc1plus"});
    EXPECT_EQ(forget.cli.history.action, HistoryOptions::Action::Forget);
    EXPECT_EQ(forget.cli.history.pattern, "cc1plus");
    // A relative --db is taken from the current directory.
    auto rel = run({"history", "list", "--db", "h.db"});
    EXPECT_EQ(rel.cli.history.db.front(), '/');
    EXPECT_TRUE(contains(run({"--help"}).out, "history")) << "the subcommand is listed in --help";
    EXPECT_TRUE(contains(run({"history", "--help"}).out, "forget"));
}

TEST(HistoryCli, ControllerFlags) {
    auto def = run({"--root-pid", "1"});
    EXPECT_EQ(def.cli.control.history_db, kDefaultHistoryDb);
    EXPECT_FALSE(def.cli.control.no_history);
    auto set = run({"--history-db", "/srv/h.db", "--root-pid", "1"});
    EXPECT_EQ(set.cli.control.history_db, "/srv/h.db");
    auto off = run({"--no-history", "--root-pid", "1"});
    EXPECT_TRUE(off.cli.control.no_history);
    auto both = run({"--no-history", "--history-db", "/srv/h.db", "--root-pid", "1"});
    EXPECT_TRUE(both.cli.control.no_history);  // --no-history wins
}
