#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "owned_record.hpp"
#include "klog/sources/record_handler.hpp"

namespace klog_test {

/// tests/data/<name>
std::string data_path(const std::string& name);
/// The whole file, bytes as they are.
std::string read_file(const std::string& path);
/// The file's bytes, or "" while it does not exist (a pid or state file being written).
std::string read_if_any(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

/// A tmpfs of `size` ("64k", "24m") mounted on `dir` (made if missing), detached by the
/// destructor; `mounted()` is false when mounting failed (not root).
class tmpfs_mount {
  public:
    tmpfs_mount(std::string dir, const char* size);
    ~tmpfs_mount();
    tmpfs_mount(const tmpfs_mount&) = delete;
    tmpfs_mount& operator=(const tmpfs_mount&) = delete;
    [[nodiscard]] bool mounted() const noexcept { return mounted_; }

  private:
    std::string dir_;
    bool mounted_ = false;
};

/// A fresh empty directory under $TMPDIR, removed by the destructor.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    [[nodiscard]] std::string file(const std::string& name) const { return path_ + "/" + name; }

  private:
    std::string path_;
};

/// What a finished process left.
struct process_result {
    int exit_code = -1;  ///< exit status, or 128 + signal
    std::string out;
    std::string err;
};

/// Runs `argv` (argv[0] a path), feeding `input` on standard input; waits at most
/// `timeout_ms` (then kills it and fails the test).
process_result run_process(const std::vector<std::string>& argv, const std::string& input = {},
                           int timeout_ms = 30000);

/// The klogd binary under test: $KLOGD_TEST_BINARY if set (to run the suite against another
/// build, e.g. to see a test fail on an older klogd), else the one built with the tests.
std::string klogd_binary();

/// Runs the built klogd with `args`.
process_result run_klogd(const std::vector<std::string>& args, const std::string& input = {},
                         int timeout_ms = 30000);

/// A kernel record with `text`, numbered `seq`, at kernel time `seq` microseconds (for the
/// sinks' tests).
inline klog::record_view text_record(std::uint64_t seq, std::string_view text,
                                     std::uint8_t level = 6) {
    klog::record_view r;
    r.seq = seq;
    r.ts_usec = seq;
    r.level = level;
    r.text = text;
    return r;
}

/// Collects everything a source hands over.
class collecting_handler final : public klog::sources::record_handler {
  public:
    void on_record(const klog::record_view& r) override { records.emplace_back(r); }
    void on_event(klog::sources::source_event e) override { events.push_back(e); }
    std::vector<klog_test::record> records;
    std::vector<klog::sources::source_event> events;
};

}  // namespace klog_test
