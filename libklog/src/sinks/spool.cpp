#include "klog/sinks/spool.hpp"

#include <boost/crc.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace klog::sinks {

namespace {


void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xffU);
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xffU);
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

std::uint32_t checksum(std::string_view flags_seq, std::string_view payload) {
    boost::crc_32_type crc;
    crc.process_bytes(flags_seq.data(), flags_seq.size());
    crc.process_bytes(payload.data(), payload.size());
    return crc.checksum();
}

/// "4000000000000001.spool" → id.
bool parse_segment_name(std::string_view n, std::uint64_t& id) {
    if (n.size() != 22 || !n.ends_with(".spool")) return false;
    const auto [end, ec] = std::from_chars(n.data(), n.data() + 16, id, 16);
    return ec == std::errc{} && end == n.data() + 16;
}

enum class stop_reason { end, incomplete, bad };

/// Decodes the records in `bytes` (which start at a record boundary); `consumed` is set to the
/// end of the last good record. `on_record(payload, seq, end)` for each.
template <typename F>
stop_reason decode_records(std::string_view bytes, std::size_t& consumed, std::size_t max_records,
                           F&& on_record) {
    std::size_t at = 0;
    std::size_t n = 0;
    while (at < bytes.size()) {
        if (n >= max_records) {
            consumed = at;
            return stop_reason::end;
        }
        const auto rest = bytes.size() - at;
        if (rest < spool::header_size) {
            consumed = at;
            return stop_reason::incomplete;
        }
        const auto len = get_le(bytes, at, 4);
        const auto crc = get_le(bytes, at + 4, 4);
        if (len > spool::max_record) {
            consumed = at;
            return stop_reason::bad;
        }
        if (len > rest - spool::header_size) {
            consumed = at;
            return stop_reason::incomplete;
        }
        const auto flags_seq = bytes.substr(at + 8, 9);
        const auto payload = bytes.substr(at + spool::header_size, static_cast<std::size_t>(len));
        if (checksum(flags_seq, payload) != crc || (flags_seq[0] & ~1) != 0) {
            consumed = at;
            return stop_reason::bad;
        }
        std::optional<std::uint64_t> seq;
        if (flags_seq[0] == 1) seq = get_le(bytes, at + 9, 8);
        at += spool::header_size + static_cast<std::size_t>(len);
        on_record(payload, seq, at);
        ++n;
    }
    consumed = at;
    return stop_reason::end;
}

/// The offset of the first whole, valid record in `bytes` at or after `from`: where reading can
/// go on after damage (records are checked by their CRC, so text is not taken for one).
std::optional<std::size_t> next_record(std::string_view bytes, std::size_t from) {
    for (std::size_t at = from; at + spool::header_size <= bytes.size(); ++at) {
        const auto flags = static_cast<unsigned char>(bytes[at + 8]);
        if (flags > 1) continue;
        const auto len = get_le(bytes, at, 4);
        if (len > spool::max_record || len > bytes.size() - at - spool::header_size) continue;
        const auto crc = get_le(bytes, at + 4, 4);
        const auto payload = bytes.substr(at + spool::header_size, static_cast<std::size_t>(len));
        if (checksum(bytes.substr(at + 8, 9), payload) == crc) return at;
    }
    return std::nullopt;
}

}  // namespace

spool::spool(std::string dir, std::uint64_t max_bytes, std::size_t segment_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes), segment_bytes_(segment_bytes) {
    if (const auto slash = dir_.rfind('/'); slash != std::string::npos && slash > 0) {
        // --spool-dir (by default spool/ beside the state file) and what leads to it.
        std::error_code ignored;
        std::filesystem::create_directories(dir_.substr(0, slash), ignored);
    }
    std::error_code ec;
    os::make_directory(dir_, 0700, ec);
    if (ec) throw os::failure(ec, "make the spool directory", dir_);
    const auto lock = dir_ + "/lock";
    lock_fd_ = os::open(lock, O_RDWR | O_CREAT | O_NOFOLLOW, 0600);
    if (const auto err = os::lock_exclusive(lock_fd_.get())) {
        throw os::failure(err, "lock", lock + " (is the spool directory in use by another klogd?)");
    }
    const auto names = os::list_directory(dir_, ec);
    if (ec) throw os::failure(ec, "read the spool directory", dir_);
    for (const auto& name : names) {
        const std::string path = dir_ + "/" + name;
        if (name.ends_with(".tmp")) {
            os::unlink(path, ec);  // a save that never finished
            continue;
        }
        std::uint64_t id = 0;
        std::uint64_t size = 0;
        if (!parse_segment_name(name, id) || !os::regular_file(path, size)) continue;
        segments_[id] = {size, false, std::nullopt};
        bytes_ += size;
    }
    if (!segments_.empty()) {
        next_id_ = std::max(next_id_, segments_.rbegin()->first + 1);
        last_found_ = segments_.rbegin()->first;
    }
    load_acked();
}

spool::~spool() {
    write();
    sync();
    close_tail();
    close_reader();
    if (empty()) {
        // Everything was delivered: leave a clean directory.
        while (!segments_.empty()) remove_segment(segments_.begin()->first);
        std::error_code ignored;
        os::unlink(dir_ + "/acked", ignored);
    }
}

std::string spool::segment_path(std::uint64_t id) const {
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.spool", static_cast<unsigned long long>(id));
    return dir_ + "/" + name;
}

void spool::load_acked() {
    const auto path = dir_ + "/acked";
    std::string text;
    std::error_code ec;
    os::read_regular_file(path, text, 64, ec);  // never through a link planted there
    if (ec || text.empty()) return;
    location at;
    const auto sp = text.find(' ');
    if (sp == std::string_view::npos) return;
    const auto [e1, ec1] = std::from_chars(text.data(), text.data() + sp, at.segment, 16);
    const auto [e2, ec2] = std::from_chars(text.data() + sp + 1, text.data() + text.size(), at.end);
    if (ec1 != std::errc{} || ec2 != std::errc{} || e1 != text.data() + sp) return;
    // Numbers are never used again, not even those of segments gone since.
    next_id_ = std::max(next_id_, at.segment + 1);
    const auto it = segments_.find(at.segment);
    if (it == segments_.end() || at.end < magic.size() || at.end > it->second.size) {
        os::unlink(path, ec);  // about a segment delivered and gone: nothing to skip
        return;
    }
    while (!segments_.empty() && segments_.begin()->first < at.segment) {
        remove_segment(segments_.begin()->first);
    }
    read_id_ = at.segment;
    read_offset_ = at.end;
    acked_ = at;
    acked_saved_ = at;
}

void spool::encode(std::string_view payload, std::optional<std::uint64_t> seq, std::string& out) {
    payload = payload.substr(0, max_record);
    std::string flags_seq;
    flags_seq += static_cast<char>(seq ? 1 : 0);
    put_u64(flags_seq, seq.value_or(0));
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, checksum(flags_seq, payload));
    out += flags_seq;
    out += payload;
}

spool::decoded spool::decode(std::string_view segment) {
    decoded result;
    if (!segment.starts_with(magic)) {
        result.damaged_bytes = segment.size();
        return result;
    }
    const auto body = segment.substr(magic.size());
    std::size_t consumed = 0;
    const auto why = decode_records(
        body, consumed, SIZE_MAX,
        [&](std::string_view payload, std::optional<std::uint64_t> seq, std::size_t end) {
            result.records.push_back(
                {std::string(payload), seq, location{0, magic.size() + end}});
        });
    const auto rest = body.size() - consumed;
    if (why == stop_reason::incomplete) {
        result.torn_bytes = rest;
    } else {
        result.damaged_bytes = rest;
    }
    return result;
}

void spool::append(std::string_view payload, std::optional<std::uint64_t> seq) {
    encode(payload, seq, pending_);
    pending_ends_.push_back(pending_.size());
}

bool spool::open_tail() {
    close_tail();
    // Numbers only grow, also past segments already delivered and removed: how far the
    // collector acknowledged is kept by segment number.
    std::uint64_t id = next_id_;
    if (!segments_.empty()) id = std::max(id, segments_.rbegin()->first + 1);
    if (acked_) id = std::max(id, acked_->segment + 1);
    const auto path = segment_path(id);
    std::error_code ec;
    auto fd = os::open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW, 0600, ec);
    if (ec) {
        last_error_ = ec;
        return false;
    }
    os::write_all(fd.get(), magic, ec);
    if (ec) {
        last_error_ = ec;
        fd.reset();
        os::unlink(path, ec);
        return false;
    }
    tail_fd_ = std::move(fd);
    tail_id_ = id;
    next_id_ = id + 1;
    tail_dirty_ = true;
    segments_[id] = {magic.size(), true, std::nullopt};
    bytes_ += magic.size();
    return true;
}

void spool::close_tail() noexcept {
    if (tail_fd_ && tail_dirty_) (void)os::sync(tail_fd_.get());
    tail_fd_.reset();
    tail_dirty_ = false;
}

std::size_t spool::write() {
    if (pending_head_ == pending_.size()) return 0;
    // A new segment at a record boundary once the current one is big enough.
    if (!tail_fd_ || (pending_head_ == 0 && segments_[tail_id_].size >= segment_bytes_)) {
        if (!open_tail()) return 0;
    }
    bool ok = true;
    while (pending_head_ < pending_.size()) {
        std::error_code ec;
        const auto n = os::write(tail_fd_.get(), pending_.data() + pending_head_,
                                 pending_.size() - pending_head_, ec);
        if (ec) {
            last_error_ = ec;
            ok = false;
            break;
        }
        pending_head_ += n;
        segments_[tail_id_].size += static_cast<std::uint64_t>(n);
        bytes_ += static_cast<std::uint64_t>(n);
        tail_dirty_ = true;
    }
    std::size_t done = 0;
    while (pending_done_ < pending_ends_.size() && pending_ends_[pending_done_] <= pending_head_) {
        ++pending_done_;
        ++done;
    }
    if (pending_head_ == pending_.size()) {
        pending_.clear();
        pending_ends_.clear();
        pending_head_ = 0;
        pending_done_ = 0;
    }
    if (ok) last_error_.clear();
    return done;
}

void spool::hand_over(unsigned uid, unsigned gid) {
    std::error_code ec;
    const auto give = [&](const std::string& path) {
        os::change_owner(path, uid, gid, ec);
        if (ec) throw os::failure(ec, "hand over the spool file", path);
    };
    give(dir_);
    const auto names = os::list_directory(dir_, ec);
    if (ec) throw os::failure(ec, "read the spool directory", dir_);
    for (const auto& name : names) give(dir_ + "/" + name);
}

std::vector<spool::stored> spool::take_unwritten() {
    std::vector<stored> out;
    if (pending_done_ == pending_ends_.size()) return out;
    const std::size_t start = pending_done_ == 0 ? 0 : pending_ends_[pending_done_ - 1];
    if (pending_head_ > start) {
        // Part of the next record is on disk: cut it off, or more appends would follow a torn
        // record.
        const auto partial = static_cast<std::uint64_t>(pending_head_ - start);
        auto& info = segments_[tail_id_];
        if (!tail_fd_ || os::truncate(tail_fd_.get(), static_cast<off_t>(info.size - partial))) {
            return out;
        }
        info.size -= partial;
        bytes_ -= std::min(bytes_, partial);
    }
    std::size_t consumed = 0;
    decode_records(std::string_view(pending_).substr(start), consumed, SIZE_MAX,
                   [&](std::string_view payload, std::optional<std::uint64_t> seq, std::size_t) {
                       out.push_back({std::string(payload), seq, location{}});
                   });
    pending_.clear();
    pending_ends_.clear();
    pending_head_ = 0;
    pending_done_ = 0;
    return out;
}

void spool::sync() {
    if (tail_fd_ && tail_dirty_ && !os::sync(tail_fd_.get())) tail_dirty_ = false;
    save_acked(true);
}

void spool::save_acked(bool durable) {
    if (!acked_ || (acked_saved_ && acked_saved_->segment == acked_->segment &&
                    acked_saved_->end == acked_->end)) {
        return;
    }
    char text[64];
    const int len = std::snprintf(text, sizeof text, "%016llx %llu\n",
                                  static_cast<unsigned long long>(acked_->segment),
                                  static_cast<unsigned long long>(acked_->end));
    std::error_code ec;
    // Not the directory: the segments' own creation and removal are not synced either, and a
    // lost rename leaves the older position (records sent again, never lost).
    os::replace_file(dir_ + "/acked", std::string_view(text, static_cast<std::size_t>(len)),
                     {.mode = 0600,
                      .durable = durable ? os::durability::file : os::durability::none,
                      .temporary = {}},
                     ec);
    if (ec) return;
    acked_saved_ = acked_;
}

void spool::close_reader() noexcept {
    read_fd_.reset();
}

bool spool::unread() const noexcept {
    if (segments_.empty()) return false;
    // Segments before the one being read are finished; those after it are not read yet.
    if (!read_id_) return !segments_.rbegin()->second.good_end;
    const auto it = segments_.find(*read_id_);
    if (it != segments_.end() && !it->second.good_end &&
        (it->second.size > read_offset_ || !writing(*read_id_))) {
        return true;
    }
    return segments_.upper_bound(*read_id_) != segments_.end();
}

void spool::finish_segment(std::uint64_t id, std::uint64_t good_end) {
    close_reader();
    const auto it = segments_.find(id);
    if (it == segments_.end()) return;
    it->second.good_end = good_end;
    const auto next = segments_.upper_bound(id);
    if (next != segments_.end()) {
        read_id_ = next->first;
        read_offset_ = 0;
    }
    // Nothing in it, or all of it delivered already: gone.
    if (good_end <= magic.size() || acked_through(id, good_end)) remove_segment(id);
}

std::vector<spool::stored> spool::read(std::size_t max_records, std::size_t max_bytes,
                                       std::vector<damage>& damaged) {
    std::vector<stored> out;
    std::size_t got_bytes = 0;
    while (out.size() < max_records && got_bytes < max_bytes) {
        if (!read_id_) {
            // Start at the oldest segment not read to its end.
            const auto first = std::find_if(segments_.begin(), segments_.end(),
                                            [](const auto& s) { return !s.second.good_end; });
            if (first == segments_.end()) break;
            read_id_ = first->first;
            read_offset_ = 0;
        }
        const auto id = *read_id_;
        const auto it = segments_.find(id);
        if (it == segments_.end() || it->second.good_end) {
            const auto next = segments_.upper_bound(id);
            if (next == segments_.end()) break;
            close_reader();
            read_id_ = next->first;
            read_offset_ = 0;
            continue;
        }
        auto& info = it->second;
        if (read_offset_ >= info.size) {
            if (writing(id)) break;  // caught up with the writer
            finish_segment(id, read_offset_);
            if (read_id_ == id || !read_id_) break;  // no newer segment yet
            continue;
        }
        if (!read_fd_) {
            std::error_code ec;
            read_fd_ = os::open(segment_path(id), O_RDONLY | O_NOFOLLOW, 0, ec);
            if (ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system ||
                ec == std::errc::not_enough_memory) {
                break;  // for now: the segment is read at the next call, not given up
            }
            if (ec) {
                damaged.push_back({segment_path(id), info.size - read_offset_});
                finish_segment(id, read_offset_ == 0 ? magic.size() : read_offset_);
                continue;
            }
        }
        // The rest of the segment as far as it is written.
        const auto want = static_cast<std::size_t>(info.size - read_offset_);
        read_buffer_.resize(want);
        std::error_code ec;
        const std::size_t have = os::pread_full(read_fd_.get(), read_buffer_.data(), want,
                                                static_cast<off_t>(read_offset_), ec);
        std::string_view bytes(read_buffer_.data(), have);
        if (read_offset_ == 0) {
            if (!bytes.starts_with(magic)) {
                if (have < magic.size() && writing(id)) break;
                damaged.push_back({segment_path(id), info.size});
                finish_segment(id, magic.size());
                continue;
            }
            read_offset_ = magic.size();
            bytes.remove_prefix(magic.size());
        }
        std::size_t consumed = 0;
        const auto base = read_offset_;
        const auto why = decode_records(
            bytes, consumed, max_records - out.size(),
            [&](std::string_view payload, std::optional<std::uint64_t> seq, std::size_t end) {
                out.push_back({std::string(payload), seq, location{id, base + end}});
                got_bytes += payload.size();
            });
        read_offset_ = base + consumed;
        if (out.size() >= max_records || got_bytes >= max_bytes) break;
        if (why == stop_reason::end && have == want) continue;  // at its end: finished above
        if (why == stop_reason::incomplete && (info.ours || have < want)) {
            break;  // our own segment, still being written: the rest comes later
        }
        // A segment an earlier run left, read up to something that does not parse. Whole
        // records after it: damage in between, said, and reading goes on after it.
        if (const auto next = next_record(bytes, consumed + 1)) {
            damaged.push_back({segment_path(id), *next - consumed});
            read_offset_ = base + *next;
            continue;
        }
        // Nothing after it: a record cut off at the end of the newest segment is one the run
        // was killed while writing (never counted); anything else is damage.
        if (why == stop_reason::bad || !last_found_ || id != *last_found_) {
            damaged.push_back({segment_path(id), info.size - read_offset_});
        }
        finish_segment(id, read_offset_);
    }
    return out;
}

void spool::remove_segment(std::uint64_t id) {
    const auto it = segments_.find(id);
    if (it == segments_.end()) return;
    if (writing(id)) close_tail();
    if (read_id_ && *read_id_ == id) {
        close_reader();
        const auto next = segments_.upper_bound(id);
        if (next == segments_.end()) {
            read_id_.reset();
        } else {
            read_id_ = next->first;
        }
        read_offset_ = 0;
    }
    std::error_code ignored;
    os::unlink(segment_path(id), ignored);
    bytes_ -= std::min(bytes_, it->second.size);
    segments_.erase(it);
}

void spool::release(const location& at) {
    // A record sent again after a reset may be acknowledged again: never step back.
    if (acked_ && (at.segment < acked_->segment ||
                   (at.segment == acked_->segment && at.end <= acked_->end))) {
        return;
    }
    acked_ = at;
    // Records are delivered in order: every older segment was read and delivered to its end.
    while (!segments_.empty() && segments_.begin()->first < at.segment) {
        remove_segment(segments_.begin()->first);
    }
    const auto it = segments_.find(at.segment);
    if (it != segments_.end() && it->second.good_end && at.end >= *it->second.good_end) {
        remove_segment(at.segment);
    }
}

std::uint64_t spool::bytes() const noexcept {
    std::uint64_t held = bytes_ + (pending_.size() - pending_head_);
    // The oldest segment kept may be delivered in part (the one being written, usually).
    if (acked_ && !segments_.empty() && segments_.begin()->first == acked_->segment) {
        held -= std::min(held, acked_->end);
    }
    return held;
}

bool spool::empty() const noexcept {
    if (!pending_ends_.empty()) return false;
    for (const auto& [id, info] : segments_) {
        const auto end = info.good_end.value_or(info.size);
        if (end > magic.size() && !acked_through(id, end)) return false;
    }
    return true;
}

}  // namespace klog::sinks
