#include "history/history.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "sys/safe_file.hpp"
#include "util/error.hpp"

namespace swamp {

namespace {

// ---- SQLite helpers ----------------------------------------------------------

// A prepared statement, finalized when it goes out of scope.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK; }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    bool ok() const { return ok_; }
    sqlite3_stmt* get() const { return s_; }
    void reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Stmt& bind(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), int(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& bind(int i, int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& bind(int i, double v) {
        sqlite3_bind_double(s_, i, v);
        return *this;
    }
    int step() { return sqlite3_step(s_); }
    int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
    double real(int col) const { return sqlite3_column_double(s_, col); }
    std::string text(int col) const {
        const unsigned char* t = sqlite3_column_text(s_, col);
        return t ? std::string(reinterpret_cast<const char*>(t), size_t(sqlite3_column_bytes(s_, col))) : "";
    }

private:
    sqlite3_stmt* s_ = nullptr;
    bool ok_ = false;
};

std::string errmsg(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

bool exec(sqlite3* db, const char* sql, std::string& error) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
    error = msg ? msg : errmsg(db);
    sqlite3_free(msg);
    return false;
}

// The value of a one-row pragma or query, as text; nullopt on an error.
std::optional<std::string> query_text(sqlite3* db, const char* sql, std::string& error) {
    Stmt s(db, sql);
    if (!s.ok()) {
        error = errmsg(db);
        return std::nullopt;
    }
    int rc = s.step();
    if (rc == SQLITE_ROW) return s.text(0);
    if (rc == SQLITE_DONE) return std::string();
    error = errmsg(db);
    return std::nullopt;
}

// What to do about an SQLite error, for the one-line messages.
std::string advice(int code) {
    switch (code) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT: return "move the file away to start a new history";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "another process holds it locked";
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return "give a path that root can write (--history-db)";
    default: return "give another path with --history-db";
    }
}
std::string advice(sqlite3* db) { return advice(db ? sqlite3_errcode(db) : SQLITE_NOMEM); }

sqlite3* open_connection(const std::string& path, int flags, int busy_ms, std::string& error) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        error = errmsg(db);
        sqlite3_close(db);
        return nullptr;
    }
    sqlite3_busy_timeout(db, busy_ms);
    sqlite3_extended_result_codes(db, 0);
    return db;
}

const char* kCreateSchema = R"(
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL,
    tool TEXT NOT NULL,
    command TEXT NOT NULL,
    peak INTEGER NOT NULL,
    duration_s REAL NOT NULL,
    peak_at_s REAL NOT NULL,
    inputs INTEGER NOT NULL,
    input_bytes INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    unix_time INTEGER NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    package TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_by_key ON runs (key, id);
PRAGMA user_version = 2;
COMMIT;
)";

// Schema 1 to 2: each run's target and package (empty for the runs before).
const char* kMigrate1To2 = R"(
BEGIN IMMEDIATE;
ALTER TABLE runs ADD COLUMN target TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN package TEXT NOT NULL DEFAULT '';
PRAGMA user_version = 2;
COMMIT;
)";

// Checks the schema version; with `create`, makes the schema of an empty database and
// brings an older one up to date. Returns the version found then (0: no schema), or -1
// with `error`.
int check_schema(sqlite3* db, bool create, std::string& error) {
    auto version_text = query_text(db, "PRAGMA user_version", error);
    if (!version_text) return -1;
    int version = std::atoi(version_text->c_str());
    if (version > kHistorySchemaVersion) {
        error = "it was written by a newer swamp-bpf (schema " + std::to_string(version) + ", this one reads up to " +
                std::to_string(kHistorySchemaVersion) + ")";
        return -1;
    }
    if (create && version < kHistorySchemaVersion) {
        if (!exec(db, version == 0 ? kCreateSchema : kMigrate1To2, error)) {
            std::string ignored;
            exec(db, "ROLLBACK", ignored);
            return -1;
        }
        version = kHistorySchemaVersion;
    }
    return version;
}

RunRecord record_from(const Stmt& s) {
    RunRecord r;
    r.key = s.text(0);
    r.tool = s.text(1);
    r.command = s.text(2);
    r.peak = uint64_t(std::max<int64_t>(0, s.int64(3)));
    r.duration_s = s.real(4);
    r.peak_at_s = s.real(5);
    r.inputs = uint32_t(std::clamp<int64_t>(s.int64(6), 0, UINT32_MAX));
    r.input_bytes = uint64_t(std::max<int64_t>(0, s.int64(7)));
    r.complete = s.int64(8) != 0;
    r.unix_time = s.int64(9);
    r.target = s.text(10);
    r.package = s.text(11);
    return r;
}

// The columns record_from() reads, from a database of schema `version` (1 has no target or package).
std::string select_columns(int version) {
    return std::string("key, tool, command, peak, duration_s, peak_at_s, inputs, input_bytes, complete, unix_time, ") +
           (version >= 2 ? "target, package" : "'' AS target, '' AS package");
}

}  // namespace

// ---- History ---------------------------------------------------------------------

History::History(std::string path, PredictionConfig cfg)
    : path_(std::move(path)), cfg_(cfg),
      runs_in_memory_(size_t(std::clamp(cfg.last_k, 1, kRunsKeptPerKey))) {}

void History::fail(const std::string& why) {
    std::lock_guard lock(warning_mutex_);
    if (warned_.load()) return;
    warning_ = "history: " + path_ + ": " + why;
    warned_.store(true, std::memory_order_release);
}

const std::string& History::warning() const {
    static const std::string none;
    return warned_.load(std::memory_order_acquire) ? warning_ : none;
}

std::unique_ptr<History> History::open(const std::string& path, PredictionConfig cfg) {
    std::unique_ptr<History> h(new History(path, cfg));
    const std::string off = "; predictions are off (reactive only)";
    if (path.empty() || path[0] != '/') {
        h->fail("not an absolute path" + off);
        return h;
    }
    // every user's command lines: 0600, in a directory of its own (0700); SQLite gives its -wal and -shm files
    // the database's mode
    if (std::string problem = prepare_private_file(path, 0600, 0700, h->note_); !problem.empty()) {
        h->fail(problem + off);
        return h;
    }
    std::string error;
    sqlite3* db = open_connection(path, SQLITE_OPEN_READWRITE, kOpenBusyTimeoutMs, error);
    if (!db) {
        h->fail(error + off);
        return h;
    }
    auto give_up = [&](const std::string& what) {
        h->fail(what + " (" + advice(db) + ")" + off);
        sqlite3_close(db);
        return std::move(h);
    };
    const int version = check_schema(db, true, error);
    if (version < 0) return give_up(error);
    auto mode = query_text(db, "PRAGMA journal_mode", error);
    if (!mode) return give_up(error);
    // WAL: our writes never block a reader (history list), nor its reads our writes.
    if (*mode != "wal" && !query_text(db, "PRAGMA journal_mode = WAL", error)) return give_up(error);
    if (!exec(db, "PRAGMA synchronous = NORMAL", error)) return give_up(error);

    std::string load = "SELECT " + select_columns(version) +
                       " FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY key ORDER BY id DESC) AS age FROM runs)"
                       " WHERE age <= ?1 ORDER BY key, id";
    Stmt s(db, load.c_str());
    if (!s.ok()) return give_up(errmsg(db));
    s.bind(1, int64_t(h->runs_in_memory_));
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
        RunRecord r = record_from(s);
        h->runs_[r.key].push_back({r.peak, r.duration_s, r.peak_at_s, r.input_bytes, r.complete, r.unix_time});
    }
    if (rc != SQLITE_DONE) {
        h->runs_.clear();
        return give_up(errmsg(db));
    }
    sqlite3_busy_timeout(db, kWriteBusyTimeoutMs);  // only the writer thread waits from now on
    h->db_ = db;
    h->writer_ = std::thread([raw = h.get()] { raw->writer_loop(); });
    return h;
}

History::~History() {
    if (!db_) return;
    flush();
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    writer_.join();
    sqlite3_close(db_);
}

std::optional<Prediction> History::predict(const std::string& key, uint64_t input_bytes) const {
    if (!db_) return std::nullopt;
    std::lock_guard lock(runs_mutex_);
    auto it = runs_.find(key);
    if (it == runs_.end()) return std::nullopt;
    return predict_peak(it->second, input_bytes, cfg_);
}

size_t History::keys() const {
    std::lock_guard lock(runs_mutex_);
    return runs_.size();
}

void History::record(RunRecord r) {
    if (!db_ || r.key.empty()) return;
    {
        std::lock_guard lock(runs_mutex_);
        auto& runs = runs_[r.key];
        runs.push_back({r.peak, r.duration_s, r.peak_at_s, r.input_bytes, r.complete, r.unix_time});
        if (runs.size() > runs_in_memory_) runs.erase(runs.begin(), runs.end() - long(runs_in_memory_));
    }
    if (r.command.size() > kMaxCommandChars) r.command.resize(kMaxCommandChars);
    {
        std::lock_guard lock(queue_mutex_);
        if (queue_.size() >= kQueueCapacity) {
            dropped_++;
            return;
        }
        queue_.push_back(std::move(r));
        queued_total_++;
    }
    queue_cv_.notify_one();
}

void History::flush() {
    if (!db_) return;
    std::unique_lock lock(queue_mutex_);
    uint64_t target = queued_total_;
    done_cv_.wait_for(lock, std::chrono::milliseconds(kFlushTimeoutMs), [&] { return finished_total_ >= target; });
}

void History::writer_loop() {
    pthread_setname_np(pthread_self(), "swamp-history");
    constexpr int kBusyRetries = 3;
    std::unique_lock lock(queue_mutex_);
    for (;;) {
        queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {  // flush() ran first: what is left could not be written in time
            dropped_ += queue_.size();
            return;
        }
        std::deque<RunRecord> batch;
        batch.swap(queue_);  // O(1): record() never waits for a copy
        lock.unlock();
        std::string error;
        int rc = write_batch(batch, error);
        for (int retry = 0; rc == SQLITE_BUSY && retry < kBusyRetries; retry++) rc = write_batch(batch, error);
        if (rc == SQLITE_OK) {
            written_ += batch.size();
        } else {
            dropped_ += batch.size();
            fail("cannot record runs: " + error + " (" + advice(rc) + "); the runs of this build are not saved");
        }
        lock.lock();
        finished_total_ += batch.size();
        done_cv_.notify_all();
    }
}

int History::write_batch(const std::deque<RunRecord>& batch, std::string& error) {
    if (!exec(db_, "BEGIN IMMEDIATE", error)) return sqlite3_errcode(db_);
    bool ok;
    {
        Stmt insert(db_,
                    "INSERT INTO runs (key, tool, command, peak, duration_s, peak_at_s, inputs, input_bytes, complete,"
                    " unix_time, target, package) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        // Keeps the newest kRunsKeptPerKey runs of a key.
        Stmt prune(db_,
                   "DELETE FROM runs WHERE key = ?1 AND id <= "
                   "(SELECT id FROM runs WHERE key = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)");
        ok = insert.ok() && prune.ok();
        for (size_t i = 0; ok && i < batch.size(); i++) {
            const RunRecord& r = batch[i];
            insert.reset();
            insert.bind(1, r.key).bind(2, r.tool).bind(3, r.command);
            insert.bind(4, int64_t(std::min<uint64_t>(r.peak, INT64_MAX))).bind(5, r.duration_s).bind(6, r.peak_at_s);
            insert.bind(7, int64_t(r.inputs)).bind(8, int64_t(std::min<uint64_t>(r.input_bytes, INT64_MAX)));
            insert.bind(9, int64_t(r.complete)).bind(10, r.unix_time).bind(11, r.target).bind(12, r.package);
            prune.reset();
            prune.bind(1, r.key).bind(2, int64_t(kRunsKeptPerKey));
            ok = insert.step() == SQLITE_DONE && prune.step() == SQLITE_DONE;
        }
    }
    if (ok && exec(db_, "COMMIT", error)) return SQLITE_OK;
    int code = sqlite3_errcode(db_);
    error = errmsg(db_);
    std::string ignored;
    exec(db_, "ROLLBACK", ignored);
    return code == SQLITE_OK ? SQLITE_ERROR : code;
}

// ---- for the CLI -----------------------------------------------------------------

namespace {

// Opens an existing database for the CLI; nullptr when the file does not exist.
// Throws UserError(ExitCode::History) when it cannot be used.
struct CliDb {
    sqlite3* db = nullptr;
    int version = 0;
    ~CliDb() { sqlite3_close(db); }

    [[noreturn]] static void fail(const std::string& path, const std::string& what, sqlite3* db) {
        throw UserError(ExitCode::History, path + ": " + what + " (" + advice(db) + ")");
    }

    // false: no file there.
    bool open(const std::string& path, bool write) {
        struct stat st;
        if (stat(path.c_str(), &st) != 0) {
            if (errno == ENOENT) return false;
            throw UserError(ExitCode::History, path + ": " + strerror(errno));
        }
        if (S_ISDIR(st.st_mode)) throw UserError(ExitCode::History, path + ": is a directory, not a history database");
        bool writable = access(path.c_str(), W_OK) == 0;
        if (write && !writable) throw UserError(ExitCode::History, path + ": not writable; run as root");
        std::string error;
        db = open_connection(path, writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY, 2000, error);
        if (!db) throw UserError(ExitCode::History, path + ": " + error);
        version = check_schema(db, false, error);
        if (version < 0) fail(path, error, db);
        return true;
    }
};

}  // namespace

StoredHistory read_history(const std::string& path) {
    StoredHistory out;
    CliDb c;
    if (!c.open(path, false)) {
        out.missing = true;
        return out;
    }
    if (c.version == 0) return out;  // an empty database: no schema yet
    std::string sql = "SELECT " + select_columns(c.version) + " FROM runs ORDER BY key, id";
    Stmt s(c.db, sql.c_str());
    if (!s.ok()) CliDb::fail(path, errmsg(c.db), c.db);
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.runs.push_back(record_from(s));
    if (rc != SQLITE_DONE) CliDb::fail(path, errmsg(c.db), c.db);
    return out;
}

Forgotten forget_history(const std::string& path, const std::string& pattern, bool all) {
    Forgotten out;
    CliDb c;
    if (!c.open(path, true)) {
        out.missing = true;
        return out;
    }
    if (c.version == 0) return out;
    std::string error;
    if (!exec(c.db, "BEGIN IMMEDIATE", error)) CliDb::fail(path, error, c.db);
    const char* where = " FROM runs WHERE ?1 OR instr(key, ?2) > 0";
    Stmt count(c.db, (std::string("SELECT COUNT(DISTINCT key), COUNT(*)") + where).c_str());
    Stmt del(c.db, (std::string("DELETE") + where).c_str());
    if (!count.ok() || !del.ok()) CliDb::fail(path, errmsg(c.db), c.db);
    count.bind(1, int64_t(all)).bind(2, pattern);
    if (count.step() != SQLITE_ROW) CliDb::fail(path, errmsg(c.db), c.db);
    out.keys = uint64_t(count.int64(0));
    out.runs = uint64_t(count.int64(1));
    del.bind(1, int64_t(all)).bind(2, pattern);
    if (del.step() != SQLITE_DONE || !exec(c.db, "COMMIT", error)) CliDb::fail(path, errmsg(c.db), c.db);
    return out;
}

}  // namespace swamp
