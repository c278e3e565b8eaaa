// Files that root writes where a user may have a say (docs/safety.md): the
// status and metrics files, traces, recordings, reports, the watchdog's state
// files and the history database. None is ever written through a symlink or a
// hard link, nor into a directory that another user can change.
//
// A directory is trusted when it and every directory above it (symlinks in the
// path resolved first, then each step opened with O_NOFOLLOW) belongs to root
// or to us and no other user can write it, unless it is sticky (/tmp); the
// directory of our own private files may not even be sticky. Output files
// (status, metrics, traces, recordings, reports) may also go into the
// directories of the user who ran us through sudo or pkexec.
#pragma once

#include <sys/types.h>

#include <memory>
#include <ostream>
#include <string>

namespace swamp {

// "" if root may write `path`, else why not (a few words, naming the culprit):
// its directory is trusted (`allow_sticky`: a sticky one too), and `path`, if it
// exists, is a regular file, not a symlink, with one link, ours. A missing
// directory is no objection when `missing_dir_ok`.
std::string unsafe_output(const std::string& path, bool missing_dir_ok = false, bool allow_sticky = true);

// Throws UserError(Usage, "WHAT PATH: REASON") unless unsafe_output(path, ...) is "".
void require_safe_output(const std::string& what, const std::string& path, bool missing_dir_ok = false,
                         bool allow_sticky = true);

// Replaces `path` with `text` atomically: a file with a random name made beside
// it (O_CREAT|O_EXCL|O_NOFOLLOW, `mode`), then renamed over it. "" or the error;
// nothing is left behind on failure. `owner` and `group` (unless -1) are given
// to the new file before its mode, and an existing file of `owner` may be replaced.
std::string write_file_atomic(const std::string& path, const std::string& text, mode_t mode = 0644,
                              uid_t owner = uid_t(-1), gid_t group = gid_t(-1));

// `path` opened for writing from its start: created with `mode`, or, if it
// exists, truncated once it is known to be a regular file we may replace.
// Throws UserError(Usage, "cannot write WHAT PATH: REASON").
std::unique_ptr<std::ostream> open_output(const std::string& what, const std::string& path, mode_t mode = 0644);

// A directory of our own (the state and socket directory): made with `mode`
// where missing (its missing parents 0755); an existing one must be a real
// directory that belongs to root or us and that no other user can write,
// sticky or not. "" or why not.
std::string ensure_private_dir(const std::string& dir, mode_t mode);
// The same for the directory that holds `file` ("." for a bare name).
std::string ensure_private_dir_of(const std::string& file, mode_t mode);

// A file only we may read (the history database): its directory is made with
// `dir_mode` where missing (trusted as ensure_private_dir says), the file
// created or tightened to `mode`, and so are PATH-wal, PATH-shm and
// PATH-journal if they exist. An existing directory that others may enter is
// tightened to `dir_mode` when it holds nothing but these files, else `note`
// says so. "" or why the file cannot be used.
std::string prepare_private_file(const std::string& path, mode_t mode, mode_t dir_mode, std::string& note);

}  // namespace swamp
