#include "klog/os/faults.hpp"

#include <cerrno>
#include <array>
#include <map>
#include <stdexcept>
#include <mutex>

namespace klog::os {

namespace detail {
std::atomic<bool> faults_active{false};
}  // namespace detail

namespace {

struct state {
    std::mutex lock;
    std::vector<fault> faults;
    std::vector<unsigned> seen;   // matching calls so far, per fault
    std::map<int, std::string> paths;  // descriptors opened while faults were in force
    unsigned fired = 0;
    std::array<unsigned, static_cast<std::size_t>(call::count_)> calls{};
};

state& the_state() {
    static state s;
    return s;
}

}  // namespace

scoped_faults::scoped_faults(std::vector<fault> faults) {
    for (const auto& f : faults) {
        // A call interrupted for ever never returns.
        if (f.error == EINTR && f.times == 0) throw std::invalid_argument("EINTR needs a count");
        if (f.period == 0) throw std::invalid_argument("a period of 0 calls");
        if (f.lost && (f.what != call::write || f.error != 0)) {
            throw std::invalid_argument("only a write can be lost");
        }
    }
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    s.faults = std::move(faults);
    s.seen.assign(s.faults.size(), 0);
    s.paths.clear();
    s.fired = 0;
    s.calls.fill(0);
    detail::faults_active.store(true, std::memory_order_relaxed);
}

scoped_faults::~scoped_faults() {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    detail::faults_active.store(false, std::memory_order_relaxed);
    s.faults.clear();
    s.seen.clear();
    s.paths.clear();
}

unsigned scoped_faults::calls(call what) const {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    return s.calls[static_cast<std::size_t>(what)];
}

unsigned scoped_faults::fired() const {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    return s.fired;
}

std::error_code asio_step_fault(call what, std::string_view where) noexcept {
    if (!detail::faults_active.load(std::memory_order_relaxed)) return {};
    std::string path;
    try {
        path.assign(where);
    } catch (...) {
        return {};  // only a test's bookkeeping
    }
    for (;;) {
        std::size_t size = SIZE_MAX;
        const int e = detail::injected(what, path.c_str(), -1, size);
        if (e == EINTR) continue;
        if (e <= 0) return {};  // (a lost or shortened step: Asio writes on until done)
        return {e, std::system_category()};
    }
}

namespace detail {

int injected(call what, const char* path, int fd, std::size_t& size) noexcept {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    std::string_view where = path != nullptr ? std::string_view(path) : std::string_view();
    if (path == nullptr && fd >= 0) {
        if (const auto it = s.paths.find(fd); it != s.paths.end()) where = it->second;
    }
    int error = 0;
    bool fired = false;
    for (std::size_t i = 0; i < s.faults.size(); ++i) {
        const auto& f = s.faults[i];
        if (f.what != what) continue;
        if (!f.path.empty() && where.find(f.path) == std::string_view::npos) continue;
        // Every fault counts every call it matches; the first one due decides.
        const unsigned n = s.seen[i]++;
        if (fired || n < f.skip || (n - f.skip) % f.period != f.period - 1) continue;
        if (f.times != 0 && (n - f.skip) / f.period >= f.times) continue;
        fired = true;
        ++s.fired;
        if (f.lost) {
            error = lost_write;
        } else {
            if (f.error == 0 && f.short_bytes < size) size = f.short_bytes;
            error = f.error;
        }
    }
    if (error != EINTR) ++s.calls[static_cast<std::size_t>(what)];
    return error;
}

void opened(int fd, const char* path) noexcept {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    try {
        s.paths[fd] = path;
    } catch (...) {
        // Only a test's bookkeeping.
    }
}

void closed(int fd) noexcept {
    auto& s = the_state();
    const std::lock_guard guard(s.lock);
    s.paths.erase(fd);
}

}  // namespace detail

}  // namespace klog::os
