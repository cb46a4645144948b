#pragma once
// Small file helpers shared by data/: whole-file reads with errors that name the file, atomic
// writes (temp file in the same folder, fsync, rename, fsync of the folder), and path joins.
#include <cstdint>
#include <string>
#include <vector>

namespace segcore::data {

// Reads a whole file. Throws segcore::Error naming the file when it is missing, not a regular
// file, unreadable, or larger than max_bytes.
std::vector<uint8_t> read_file_bytes(const std::string& path, int64_t max_bytes = int64_t(1) << 31);

// Writes `bytes` to "<path>.tmp.<pid>.<n>" beside path, fsyncs it and renames it over path, so
// readers see the old file or the new one, never half of one. The temp file is removed on failure.
void write_file_atomic(const std::string& path, const void* bytes, size_t size);

// "a/b" + "c" -> "a/b/c"; an absolute `rel` is returned unchanged; empty parts are skipped.
std::string join_path(const std::string& base, const std::string& rel);

// The files in folder `dir`, as paths relative to it, sorted: what every command that walks a folder
// (dataset scans, lint, stats, predict) lists. Every entry that is not a folder counts as a file,
// a dangling symlink or a symlink loop too, so that reading it later fails with its name instead of
// the file silently vanishing from one tool and not another. With `recursive`, sub-folders (also
// symlinked ones) are walked, each real folder once: a symlink loop ends instead of running until
// the path is too long. Throws naming the folder when it cannot be listed.
std::vector<std::string> list_folder_files(const std::string& dir, bool recursive);

bool file_exists(const std::string& path);       // a regular file (after symlinks)
bool directory_exists(const std::string& path);  // a directory (after symlinks)

}  // namespace segcore::data
