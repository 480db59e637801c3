#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#endif

// How needle_set looks up its anchors: 1, with a byte shuffle where the CPU has one (x86: SSSE3,
// asked at run time); 2, with one always (arm64: NEON); 0, by comparing each anchor. The
// shuffle is GCC's __builtin_shuffle, which clang does not have: clang builds compare.
#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
#define KLOG_NEEDLE_SHUFFLE 1
#elif defined(__GNUC__) && !defined(__clang__) && defined(__aarch64__)
#define KLOG_NEEDLE_SHUFFLE 2
#else
#define KLOG_NEEDLE_SHUFFLE 0
#endif

namespace klog::text {

/// Finds which of a fixed set of needles occur in a line, in one pass over the line.
///
/// Every record's text is searched for a handful of kernel wordings (incident headers, address
/// forms). One `find` per needle reads the line once per needle and stops at every byte equal to
/// the needle's first, which for needles starting with a blank or a common letter is most bytes;
/// that was a third of a replay's time. Here each needle is looked for only where its *anchor*
/// occurs: the two adjacent bytes of the needle least common in kernel text (`#`, `/`, `<`
/// before capitals, capitals before `-` and `:`, those before digits, letters and blanks), at a
/// fixed offset in the needle. Sixteen positions at a time are looked up in nibble tables with a
/// byte shuffle (or, on a CPU without one, compared with every anchor); where an anchor may
/// start, a table from its first byte to the needles anchored there says which to compare.
///
/// At most 64 needles of two bytes or more. Built at compile time from string literals.
template <std::size_t N>
class needle_set {
    static_assert(N > 0 && N <= 64);

  public:
    using mask = std::uint64_t;

    constexpr explicit needle_set(const std::array<std::string_view, N>& needles)
        : needles_(needles) {
        for (std::size_t i = 0; i < N; ++i) {
            const auto n = needles_[i];
            if (n.size() < 2) throw "needle_set: every needle needs two bytes or more";
            std::size_t best = 0;
            for (std::size_t k = 1; k + 1 < n.size(); ++k) {
                if (rank(n[k]) + rank(n[k + 1]) < rank(n[best]) + rank(n[best + 1])) best = k;
            }
            anchor_[i] = best;
            by_byte_[static_cast<unsigned char>(n[best])] |= mask{1} << i;
            std::size_t a = 0;
            while (a < anchors_ && (first_[a] != n[best] || second_[a] != n[best + 1])) ++a;
            if (a == anchors_) {
                first_[anchors_] = n[best];
                second_[anchors_++] = n[best + 1];
            }
        }
        std::array<unsigned char, 16> first_low{}, first_high{}, second_low{}, second_high{};
        for (std::size_t a = 0; a < anchors_; ++a) {
            const auto bucket = static_cast<unsigned char>(1U << (a % 8));
            const auto f = static_cast<unsigned char>(first_[a]);
            const auto s = static_cast<unsigned char>(second_[a]);
            first_low[f & 0x0fU] |= bucket;
            first_high[f >> 4U] |= bucket;
            second_low[s & 0x0fU] |= bucket;
            second_high[s >> 4U] |= bucket;
        }
        first_low_ = lanes(first_low);
        first_high_ = lanes(first_high);
        second_low_ = lanes(second_low);
        second_high_ = lanes(second_high);
    }

    /// Calls `fn(index, position)` for each occurrence of a needle in `text`, ordered by the
    /// position of its anchor (that is, by position for needles anchored at the same offset).
    template <typename Fn>
    void for_each(std::string_view text, Fn&& fn) const {
#if KLOG_NEEDLE_SHUFFLE == 1
        if (wide_shuffle_available()) {
            scan_wide(text, fn);
            return;
        }
#endif
        for_each_narrow(text, fn);
    }

    /// for_each() by comparing each block with every anchor, as on a CPU without a byte
    /// shuffle (the tests hold the two ways against each other).
    template <typename Fn>
    void for_each_comparing(std::string_view text, Fn&& fn) const {
        scan<false>(text, fn);
    }
    /// for_each() sixteen bytes at a time only, as on an x86 CPU without AVX2 (the tests hold
    /// it against the others too).
    template <typename Fn>
    void for_each_narrow(std::string_view text, Fn&& fn) const {
#if KLOG_NEEDLE_SHUFFLE == 1
        if (byte_shuffle_available()) {
            scan_shuffling(text, fn);
            return;
        }
        scan<false>(text, fn);
#elif KLOG_NEEDLE_SHUFFLE == 2
        scan<true>(text, fn);
#else
        scan<false>(text, fn);
#endif
    }

    /// Bit i set: needle i occurs in `text`.
    [[nodiscard]] mask found(std::string_view text) const {
        mask hits = 0;
        for_each(text, [&hits](std::size_t i, std::size_t) { hits |= mask{1} << i; });
        return hits;
    }

    [[nodiscard]] constexpr std::string_view needle(std::size_t i) const { return needles_[i]; }

  private:
    using block = char __attribute__((vector_size(16)));

    using ublock = unsigned char __attribute__((vector_size(16)));

#if KLOG_NEEDLE_SHUFFLE == 1
    static bool byte_shuffle_available() noexcept {
        static const bool available = __builtin_cpu_supports("ssse3");
        return available;
    }
    /// scan<true> built for SSSE3 (PSHUFB), inlined here.
    template <typename Fn>
    __attribute__((target("ssse3"))) void scan_shuffling(std::string_view text, Fn& fn) const {
        scan<true>(text, fn);
    }
    static bool wide_shuffle_available() noexcept {
        static const bool available = __builtin_cpu_supports("avx2");
        return available;
    }
    /// The shuffle of visit_block on 32 bytes at a time (AVX2: VPSHUFB looks up within each
    /// 16-byte half, so both halves hold the same nibble table). The line's last bytes are a
    /// block that ends with the line, overlapping the one before, as in scan(); a line shorter
    /// than a block and its next byte is scan<true>'s.
    struct wide_tables {
        __m256i first_low, first_high, second_low, second_high;
    };
    /// A bit for each of the 32 positions at `p` where an anchor may start, in text order.
    __attribute__((target("avx2"), always_inline)) static inline std::uint32_t wide_hits(
        const char* p, const wide_tables& t) noexcept {
        const __m256i nibble = _mm256_set1_epi8(0x0f);
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i n = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1));
        const __m256i m = _mm256_and_si256(
            _mm256_and_si256(_mm256_shuffle_epi8(t.first_low, _mm256_and_si256(h, nibble)),
                             _mm256_shuffle_epi8(
                                 t.first_high, _mm256_and_si256(_mm256_srli_epi16(h, 4), nibble))),
            _mm256_and_si256(
                _mm256_shuffle_epi8(t.second_low, _mm256_and_si256(n, nibble)),
                _mm256_shuffle_epi8(t.second_high,
                                    _mm256_and_si256(_mm256_srli_epi16(n, 4), nibble))));
        return ~static_cast<std::uint32_t>(
            _mm256_movemask_epi8(_mm256_cmpeq_epi8(m, _mm256_setzero_si256())));
    }
    template <typename Fn>
    __attribute__((target("avx2"))) void scan_wide(std::string_view text, Fn& fn) const {
        constexpr std::size_t wide = 32;
        constexpr std::size_t span = wide + 1;  // a block and its next byte
        if (text.size() < span) {
            scan<true>(text, fn);
            return;
        }
        __m128i tables[4];
        std::memcpy(&tables[0], &first_low_, sizeof tables[0]);
        std::memcpy(&tables[1], &first_high_, sizeof tables[1]);
        std::memcpy(&tables[2], &second_low_, sizeof tables[2]);
        std::memcpy(&tables[3], &second_high_, sizeof tables[3]);
        const wide_tables t{
            _mm256_broadcastsi128_si256(tables[0]), _mm256_broadcastsi128_si256(tables[1]),
            _mm256_broadcastsi128_si256(tables[2]), _mm256_broadcastsi128_si256(tables[3])};
        const auto visit_hits = [&](std::uint32_t hits, std::size_t q) {
            while (hits != 0) {
                const auto j = static_cast<std::size_t>(__builtin_ctz(hits));
                hits &= hits - 1;
                visit(text, q + j, fn);
            }
        };
        std::size_t q = 0;
        for (; q + span <= text.size(); q += wide) visit_hits(wide_hits(text.data() + q, t), q);
        if (q == text.size()) return;
        // The block that ends one byte before the line: positions before q were visited.
        const std::size_t start = text.size() - span;
        const std::size_t seen = q - start;  // 1..32
        if (seen < wide) visit_hits(wide_hits(text.data() + start, t) & (~0U << seen), start);
    }
#endif

    /// GCC's generic vectors: SSE2 on x86-64, NEON on arm64, plain code elsewhere. Most blocks
    /// of most lines hold no anchor. The last bytes (a block or less) are looked at the same
    /// way, in the block that ends with the line (overlapping the one before; only the
    /// positions not visited yet are visited); a line shorter than that, from a copy padded
    /// with zeros. An anchor at the line's last byte belongs to a needle that runs past the
    /// line's end, which visit() does not find anyway.
    /// From `q` on (0, or where scan_wide stopped: fewer than a wide block and its next byte
    /// are left).
    template <bool Shuffle, typename Fn>
    __attribute__((always_inline)) inline void scan(std::string_view text, Fn& fn,
                                                    std::size_t q = 0) const {
        constexpr std::size_t span = sizeof(block) + 1;  // a block and its next bytes
        for (; q + span <= text.size(); q += sizeof(block)) {
            visit_block<Shuffle>(text, text.data(), q, 0, fn);
        }
        if (q == text.size()) return;
        if (text.size() >= span) {
            const std::size_t start = text.size() - span;
            visit_block<Shuffle>(text, text.data(), start, q - start, fn);
            return;
        }
        char padded[span] = {};
        std::memcpy(padded, text.data(), text.size());
        visit_block<Shuffle>(text, padded, 0, 0, fn);
    }

    /// Visits the anchors that start in the block at `q` of `text`, from its `from`th byte on;
    /// the bytes are read from `bytes` (the text, or a padded copy of it).
    /// Shuffle: the anchors sit in eight buckets (more than eight share them); four 16-byte
    /// tables say, for each nibble of a first and of a second byte, which buckets have an
    /// anchor with that nibble there. A byte shuffle (PSHUFB, TBL) looks up all sixteen
    /// positions at once, whatever the number of anchors; a position all four lookups agree on
    /// is a candidate, and visit() compares the needles there. Without it: each anchor is
    /// compared with the block in turn.
    template <bool Shuffle, typename Fn>
    __attribute__((always_inline)) inline void visit_block(std::string_view text, const char* bytes,
                                                           std::size_t q, std::size_t from,
                                                           Fn& fn) const {
        block here;
        block next;
        std::memcpy(&here, bytes + q, sizeof here);
        std::memcpy(&next, bytes + q + 1, sizeof next);
        block hits{};
#if KLOG_NEEDLE_SHUFFLE != 0
        if constexpr (Shuffle) {
            const auto h = reinterpret_cast<ublock&>(here);
            const auto n = reinterpret_cast<ublock&>(next);
            const ublock m =
                __builtin_shuffle(first_low_, h & 0x0f) & __builtin_shuffle(first_high_, h >> 4) &
                __builtin_shuffle(second_low_, n & 0x0f) & __builtin_shuffle(second_high_, n >> 4);
            hits = reinterpret_cast<const block&>(m);
        } else
#endif
        {
            for (std::size_t k = 0; k < anchors_; ++k) {
                hits |= (here == first_[k]) & (next == second_[k]);
            }
        }
        std::uint64_t halves[2];
        std::memcpy(halves, &hits, sizeof halves);
        if ((halves[0] | halves[1]) == 0) return;
        // A byte of `hits` is non-zero where an anchor may start: visit only there (byte by
        // byte, not by the bits of `halves`, whose byte order is the machine's).
        for (std::size_t j = from; j < sizeof(block); ++j) {
            if (hits[j] != 0 && q + j < text.size()) visit(text, q + j, fn);
        }
    }

    template <typename Fn>
    void visit(std::string_view text, std::size_t q, Fn& fn) const {
        mask m = by_byte_[static_cast<unsigned char>(text[q])];
        while (m != 0) {
            const auto i = static_cast<std::size_t>(__builtin_ctzll(m));
            m &= m - 1;
            if (q < anchor_[i]) continue;
            const std::size_t pos = q - anchor_[i];
            if (text.substr(pos, needles_[i].size()) == needles_[i]) fn(i, pos);
        }
    }

    /// How common a byte is in kernel text, lower is rarer.
    static constexpr int rank(char c) {
        if (c == ' ') return 6;
        if (c >= 'a' && c <= 'z') return 5;
        if (c >= '0' && c <= '9') return 4;
        if (c == '-' || c == '_' || c == '.' || c == ',' || c == ':' || c == '=' || c == '[' ||
            c == ']' || c == '(' || c == ')') {
            return 3;
        }
        if (c >= 'A' && c <= 'Z') return 2;
        return 1;  // `#`, `/`, `<`, `>`, ... and bytes outside ASCII
    }

    std::array<std::string_view, N> needles_;
    std::array<std::size_t, N> anchor_{};
    std::array<mask, 256> by_byte_{};
    std::array<char, N> first_{};   ///< the distinct anchors, their first bytes
    std::array<char, N> second_{};  ///< and their second
    std::size_t anchors_ = 0;
    /// The bucket tables of visit_block's shuffle: by the low and the high nibble of an
    /// anchor's first and second byte, the buckets (anchor index mod 8) that have one there.
    ublock first_low_{};
    ublock first_high_{};
    ublock second_low_{};
    ublock second_high_{};

    static constexpr ublock lanes(const std::array<unsigned char, 16>& t) {
        return ublock{t[0], t[1], t[2],  t[3],  t[4],  t[5],  t[6],  t[7],
                      t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15]};
    }
};

}  // namespace klog::text

#undef KLOG_NEEDLE_SHUFFLE
