// The history store: every job's peak memory and duration per command signature, in SQLite, so that
// the next run of the same job can be predicted at exec (docs/history.md, "History").
//
// The controller's side (History) never blocks and never fails: reads happen once at open, writes
// go through a background thread, and a database that cannot be used turns history off with one
// warning. The CLI's side (read_history, forget_history) reads and writes synchronously.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "history/prediction.hpp"

struct sqlite3;

namespace swamp {

inline constexpr const char* kDefaultHistoryDb = "/var/lib/swamp-bpf/history.db";
inline constexpr int kHistorySchemaVersion = 2;  // PRAGMA user_version (2 added target and package)
inline constexpr int kRunsKeptPerKey = 20;       // older runs of a key are deleted

struct RunRecord {
    std::string key, tool, command;
    std::string target;   // what it makes, as users name it (its -o), "" if none
    std::string package;  // the emerge package it was part of, "" if none
    uint64_t peak = 0;  // bytes
    double duration_s = 0;     // running time, stops and holds left out
    double peak_at_s = 0;      // running time when it reached its peak
    uint32_t inputs = 0;       // links: how many inputs
    uint64_t input_bytes = 0;  // links: their total size
    bool complete = true;      // false: killed before it ended
    int64_t unix_time = 0;
};

class History {
public:
    // Opens (creating the directory 0700 and the file 0600: they hold every user's command lines) the database and loads the newest runs of
    // every key. Never throws: when the database cannot be used (corrupt, locked for more than
    // ~200 ms, unreadable, unwritable), warning() says why and the object predicts and records nothing.
    static std::unique_ptr<History> open(const std::string& path, PredictionConfig cfg = {});
    ~History();
    History(const History&) = delete;
    History& operator=(const History&) = delete;

    // From memory only, no I/O. nullopt: an unknown key, or history is off.
    std::optional<Prediction> predict(const std::string& key, uint64_t input_bytes = 0) const;
    // Updates the in-memory runs at once and queues the write for the background thread. Never blocks:
    // when the queue is full the record is dropped and counted.
    void record(RunRecord r);
    // "" when healthy; else one line with the path and the reason. Set once: the first problem.
    const std::string& warning() const;
    // "" or one line about the database's directory: others may enter it (see prepare_private_file).
    const std::string& note() const { return note_; }
    bool usable() const { return db_ != nullptr; }
    // Waits (at most ~2 s) until the queued writes are done. The destructor flushes too.
    void flush();

    const std::string& path() const { return path_; }
    size_t keys() const;              // keys in memory
    uint64_t dropped() const { return dropped_; }   // records dropped: queue full, or a failed write
    uint64_t written() const { return written_; }   // records written to the database

    static constexpr size_t kQueueCapacity = 4096;
    static constexpr int kOpenBusyTimeoutMs = 200;
    static constexpr int kWriteBusyTimeoutMs = 1000;
    static constexpr int kFlushTimeoutMs = 2000;
    static constexpr size_t kMaxCommandChars = 4096;  // longer command lines are cut when stored

private:
    History(std::string path, PredictionConfig cfg);
    void fail(const std::string& why);  // sets the warning once
    void writer_loop();
    int write_batch(const std::deque<RunRecord>& batch, std::string& error);  // SQLITE_OK or the error

    std::string path_;
    std::string note_;
    PredictionConfig cfg_;
    sqlite3* db_ = nullptr;

    mutable std::mutex runs_mutex_;
    std::unordered_map<std::string, std::vector<PastRun>> runs_;  // newest last, at most runs_in_memory_
    size_t runs_in_memory_ = 5;

    std::mutex warning_mutex_;
    std::string warning_;
    std::atomic<bool> warned_{false};

    std::mutex queue_mutex_;
    std::condition_variable queue_cv_, done_cv_;
    std::deque<RunRecord> queue_;
    uint64_t queued_total_ = 0, finished_total_ = 0;  // under queue_mutex_
    bool stopping_ = false;
    std::atomic<uint64_t> dropped_{0}, written_{0};
    std::thread writer_;
};

// ---- for the CLI -----------------------------------------------------------

struct StoredHistory {
    bool missing = false;        // no database file at that path
    std::vector<RunRecord> runs;  // grouped by key, oldest first within a key
};
// Reads every run. Throws UserError(ExitCode::History, "PATH: what; what to do") when the file is
// not a usable history (corrupt, locked, unreadable, from a newer swamp-bpf).
StoredHistory read_history(const std::string& path);

struct Forgotten {
    bool missing = false;
    uint64_t keys = 0, runs = 0;
};
// Deletes the runs whose key contains `pattern`, or every run when `all`. Throws as read_history.
Forgotten forget_history(const std::string& path, const std::string& pattern, bool all);

}  // namespace swamp
