#pragma once
// The run folder (checkpoint.dir) belongs to one process at a time, and a (re)started run first
// tidies what a killed one left behind (docs/run_folders.md):
//
//   lock      <dir>/.segcore.lock, held with flock(LOCK_EX) for as long as the writer lives. The
//             kernel drops the lock when the process ends in any way (kill -9 included), so a
//             dead process never leaves the folder locked. The file holds the holder's pid and
//             command, for the message that the second process prints when it refuses.
//   temp files  "<name>.tmp.<pid>[.<n>]" (atomic writes in progress, data/file_util.h and
//             core/safetensors) whose process no longer runs are removed at start.
//   logs      on (re)start, log.jsonl and metrics.csv keep only the records of iterations up to
//             the one the run continues from (records of lost iterations would otherwise appear
//             twice), and a line cut short by a kill is dropped.
#include <cstdint>
#include <string>
#include <vector>

namespace segcore::seg {

class RunFolderLock {
public:
    // Locks `dir` (which must exist) for `command` ("segcore train"). Throws segcore::Error naming
    // the folder and the holder's pid when another process (or another lock object of this one)
    // holds it.
    RunFolderLock(const std::string& dir, const std::string& command);
    ~RunFolderLock();
    RunFolderLock(const RunFolderLock&) = delete;
    RunFolderLock& operator=(const RunFolderLock&) = delete;

    // "pid 1234 (segcore train)" when a process holds `dir`, "" when nobody does. Read-only: for
    // `train --check`, which must not take the lock.
    static std::string holder(const std::string& dir);

private:
    int fd_ = -1;
};

// Removes "*.tmp.<pid>" and "*.tmp.<pid>.<n>" files of processes that no longer run from `dir` and
// `dir`/checkpoints; returns the removed paths.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

// Drops the records of iterations after `iter` (and lines cut short) from <dir>/log.jsonl and
// <dir>/metrics.csv; returns how many records were dropped.
int64_t truncate_run_logs(const std::string& dir, int64_t iter);

// Throws segcore::Error naming `what` (e.g. "checkpoint.dir") when `dir` can neither be used nor
// created: it, or its nearest existing ancestor, is not a writable folder. Writes nothing.
void check_folder_writable(const std::string& dir, const std::string& what);

// Creates `dir` and its parents; errors name `what` and say why (not the raw library text).
void create_folder(const std::string& dir, const std::string& what);

}  // namespace segcore::seg
