// read_ahead_source when memory runs out on its thread: what the thread read before is handed
// on, then the loop's thread gets std::bad_alloc, as from the inner source read there. Its own
// binary: it replaces operator new, failing every allocation of a thread that asks it to.
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "klog/sources/read_ahead_source.hpp"

namespace {
thread_local bool fail_allocations = false;
}  // namespace

// Every form but the aligned ones, which stay a pair of their own: the sanitizers' own forms
// must never free what these allocated, or the other way round.
void* operator new(std::size_t size) {
    if (fail_allocations) throw std::bad_alloc();
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    if (fail_allocations) return nullptr;
    return std::malloc(size == 0 ? 1 : size);
}
void* operator new[](std::size_t size, const std::nothrow_t& tag) noexcept {
    return ::operator new(size, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using klog::sources::read_status;

/// Hands on the texts of one call per call, then ends; after call `starve_after` (1 = the
/// first) every allocation of the thread it runs on fails.
class script_source final : public klog::sources::source {
  public:
    script_source(std::vector<std::vector<const char*>> calls, std::size_t starve_after)
        : calls_(std::move(calls)), starve_after_(starve_after) {}
    [[nodiscard]] const std::string& name() const noexcept override { return name_; }
    read_status read_available(klog::sources::record_handler& h, std::error_code& ec) override {
        ec.clear();
        if (next_ == calls_.size()) return read_status::end;
        for (const char* text : calls_[next_]) {
            klog::record_view r;
            r.text = text;
            h.on_record(r);
        }
        if (++next_ == starve_after_) fail_allocations = true;  // this thread's from here on
        return read_status::more;
    }
    void async_wait(std::function<void(std::error_code)>) override {}
    void close() noexcept override {}

  private:
    std::vector<std::vector<const char*>> calls_;
    std::size_t starve_after_;
    std::size_t next_ = 0;
    std::string name_ = "script";
};

struct collect final : klog::sources::record_handler {
    std::vector<std::string> texts;
    void on_record(const klog::record_view& r) override { texts.emplace_back(r.text); }
    void on_event(klog::sources::source_event) override {}
};

/// A read_ahead_source over a script_source, and what it handed on.
struct scripted_read_ahead {
    scripted_read_ahead(std::vector<std::vector<const char*>> calls, std::size_t starve_after)
        : source(io, std::make_unique<script_source>(std::move(calls), starve_after)) {}
    boost::asio::io_context io;
    klog::sources::read_ahead_source source;
    collect got;
    std::error_code ec;
};

}  // namespace

TEST_CASE(
    "read ahead: memory that runs out on the thread ends the reading with bad_alloc after "
    "what was read and the process goes on",
    "[read_ahead][hostile]") {
    // The thread's next batch cannot be made after the first call.
    scripted_read_ahead s({{"first", "second"}, {"third"}}, 1);
    auto& [io, source, got, ec] = s;
    // Before: the thread's catch made a batch to say so, which threw again out of its noexcept
    // function and ended the process (std::terminate).
    bool threw = false;
    for (int i = 0; i < 10 && !threw; ++i) {
        try {
            if (source.read_available(got, ec) != read_status::more) break;
        } catch (const std::bad_alloc&) {
            threw = true;
        }
    }
    CHECK(threw);
    CHECK(got.texts == std::vector<std::string>{"first", "second"});
    source.close();
}

TEST_CASE(
    "read ahead: memory that runs out on the loop's thread while it takes a batch loses "
    "no batch",
    "[read_ahead][hostile]") {
    scripted_read_ahead s({{"A"}, {"B"}, {"C"}}, 0);
    auto& [io, source, got, ec] = s;
    got.texts.reserve(8);  // one-letter texts: the handler allocates nothing
    REQUIRE(source.read_available(got, ec) == read_status::more);  // "A"
    // The next call takes the second batch and keeps the first for reuse. Before, keeping it
    // allocated after the second batch had left the queue: bad_alloc, and "B" was gone.
    fail_allocations = true;
    bool threw = false;
    try {
        source.read_available(got, ec);
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    fail_allocations = false;
    CHECK_FALSE(threw);
    for (int i = 0; i < 10; ++i) {
        if (source.read_available(got, ec) != read_status::more) break;
    }
    CHECK(got.texts == std::vector<std::string>{"A", "B", "C"});
    source.close();
}
