#include "klog/sinks/spool.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/crc.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <system_error>

namespace klog::sinks {

namespace {

constexpr std::uint64_t first_id = 0x4000000000000000ULL;  // room to prepend below

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

/// "4000000000000001.spool" → id; nullopt for anything else.
bool parse_segment_name(const char* name, std::uint64_t& id) {
    const std::string_view n(name);
    if (n.size() != 22 || !n.ends_with(".spool")) return false;
    id = 0;
    for (const char c : n.substr(0, 16)) {
        int d;
        if (c >= '0' && c <= '9') {
            d = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            d = c - 'a' + 10;
        } else {
            return false;
        }
        id = (id << 4) | static_cast<std::uint64_t>(d);
    }
    return true;
}

bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

}  // namespace

spool::spool(std::string dir, std::uint64_t max_bytes, std::size_t segment_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes), segment_bytes_(segment_bytes) {
    if (const auto slash = dir_.rfind('/'); slash != std::string::npos && slash > 0) {
        ::mkdir(dir_.substr(0, slash).c_str(), 0700);  // --spool-dir itself, if missing
    }
    if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
        throw std::system_error(errno, std::generic_category(), "spool directory " + dir_);
    }
    const auto lock = dir_ + "/lock";
    lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock_fd_ < 0) throw std::system_error(errno, std::generic_category(), lock);
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(lock_fd_);
        throw std::system_error(err, std::generic_category(),
                                "spool directory " + dir_ + " (in use by another klogd?)");
    }
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) {
        const int err = errno;
        ::close(lock_fd_);
        throw std::system_error(err, std::generic_category(), "spool directory " + dir_);
    }
    while (const dirent* e = ::readdir(d)) {
        std::uint64_t id = 0;
        const std::string path = dir_ + "/" + e->d_name;
        if (std::string_view(e->d_name).ends_with(".spool.tmp")) {
            ::unlink(path.c_str());  // a prepend that never finished; its records were in memory
            continue;
        }
        if (!parse_segment_name(e->d_name, id)) continue;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        segments_[id] = static_cast<std::uint64_t>(st.st_size);
        bytes_ += static_cast<std::uint64_t>(st.st_size);
    }
    ::closedir(d);
}

spool::~spool() {
    close_tail();
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

void spool::close_tail() noexcept {
    if (tail_fd_ >= 0) {
        ::fsync(tail_fd_);
        ::close(tail_fd_);
    }
    tail_fd_ = -1;
}

std::string spool::segment_path(std::uint64_t id) const {
    char name[32];
    std::snprintf(name, sizeof name, "%016llx.spool", static_cast<unsigned long long>(id));
    return dir_ + "/" + name;
}

void spool::encode(const queued_record& record, std::string& out) {
    const auto size = std::min<std::size_t>(record.bytes.size(), max_record);
    const std::string_view payload(record.bytes.data(), size);
    std::string flags_seq;
    flags_seq += static_cast<char>(record.seq ? 1 : 0);
    put_u64(flags_seq, record.seq.value_or(0));
    put_u32(out, static_cast<std::uint32_t>(size));
    put_u32(out, checksum(flags_seq, payload));
    out += flags_seq;
    out += payload;
}

spool::load_result spool::decode(std::string_view segment) {
    load_result result;
    if (!segment.starts_with(magic)) {
        result.damaged_bytes = segment.size();
        return result;
    }
    std::size_t at = magic.size();
    while (at < segment.size()) {
        const auto rest = segment.size() - at;
        if (rest < header_size) break;
        const auto len = get_le(segment, at, 4);
        const auto crc = get_le(segment, at + 4, 4);
        if (len > max_record || len > rest - header_size) break;
        const auto flags_seq = segment.substr(at + 8, 9);
        const auto payload = segment.substr(at + header_size, static_cast<std::size_t>(len));
        if (checksum(flags_seq, payload) != crc || (flags_seq[0] & ~1) != 0) break;
        queued_record r;
        r.bytes.assign(payload);
        if (flags_seq[0] == 1) r.seq = get_le(segment, at + 9, 8);
        result.records.push_back(std::move(r));
        at += header_size + static_cast<std::size_t>(len);
    }
    result.damaged_bytes = segment.size() - at;
    return result;
}

bool spool::append(const queued_record& record, bool over_cap) {
    scratch_.clear();
    encode(record, scratch_);
    if (!over_cap && bytes_ + scratch_.size() > max_bytes_) return false;
    if (tail_fd_ < 0 || segments_[tail_id_] >= segment_bytes_) {
        close_tail();
        tail_id_ = segments_.empty() ? first_id : segments_.rbegin()->first + 1;
        const auto path = segment_path(tail_id_);
        tail_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
        if (tail_fd_ < 0 || !write_all(tail_fd_, magic)) {
            ++write_errors_;
            if (tail_fd_ >= 0) ::unlink(path.c_str());
            close_tail();
            return false;
        }
        segments_[tail_id_] = magic.size();
        bytes_ += magic.size();
    }
    const auto before = static_cast<off_t>(segments_[tail_id_]);
    if (!write_all(tail_fd_, scratch_)) {
        ++write_errors_;
        // Cut a partial record off so the segment stays readable; start a new one next time.
        if (::ftruncate(tail_fd_, before) != 0) {
            // The torn tail is detected (CRC) and reported when the segment is read.
        }
        close_tail();
        return false;
    }
    segments_[tail_id_] += scratch_.size();
    bytes_ += scratch_.size();
    return true;
}

bool spool::write_file(const std::string& path, std::string_view bytes) {
    const auto tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return false;
    const bool ok = write_all(fd, bytes) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool spool::prepend(const std::deque<queued_record>& records) {
    if (records.empty()) return true;
    std::string bytes(magic);
    for (const auto& r : records) encode(r, bytes);
    const auto id = segments_.empty() ? first_id : segments_.begin()->first - 1;
    if (!write_file(segment_path(id), bytes)) {
        ++write_errors_;
        return false;
    }
    segments_[id] = bytes.size();
    bytes_ += bytes.size();
    return true;
}

spool::load_result spool::load_head() {
    load_result result;
    if (segments_.empty()) return result;
    const auto [id, size] = *segments_.begin();
    if (tail_fd_ >= 0 && id == tail_id_) close_tail();
    result.file = segment_path(id);
    std::string bytes;
    const int fd = ::open(result.file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            bytes.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
    }
    auto decoded = decode(bytes);
    decoded.file = result.file;
    if (fd < 0) decoded.damaged_bytes = size;
    ::unlink(result.file.c_str());
    bytes_ -= std::min(bytes_, size);
    segments_.erase(segments_.begin());
    return decoded;
}

}  // namespace klog::sinks
