#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace klog::text {

/// Finds which of a fixed set of needles occur in a line, in one pass over the line.
///
/// Every record's text is searched for a handful of kernel wordings (incident headers, address
/// forms). One `find` per needle reads the line once per needle and stops at every byte equal to
/// the needle's first, which for needles starting with a blank or a common letter is most bytes;
/// that was a third of a replay's time. Here each needle is looked for only where its *anchor*
/// occurs: the two adjacent bytes of the needle least common in kernel text (`#`, `/`, `<`
/// before capitals, capitals before `-` and `:`, those before digits, letters and blanks), at a
/// fixed offset in the needle. Sixteen bytes at a time are compared with every anchor; where one
/// starts, a table from its first byte to the needles anchored there says which to compare.
///
/// At most 64 needles of two bytes or more. Built at compile time from string literals.
template <std::size_t N>
class needle_set {
    static_assert(N > 0 && N <= 64);

public:
    using mask = std::uint64_t;

    constexpr explicit needle_set(const std::array<std::string_view, N>& needles) : needles_(needles) {
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
    }

    /// Calls `fn(index, position)` for each occurrence of a needle in `text`, ordered by the
    /// position of its anchor (that is, by position for needles anchored at the same offset).
    template <typename Fn>
    void for_each(std::string_view text, Fn&& fn) const {
        // GCC's generic vectors: SSE2 on x86-64, NEON on arm64, plain code elsewhere. Most
        // blocks of most lines hold no anchor. The last bytes (a block or less) are compared
        // the same way, in the block that ends with the line (overlapping the one before; only
        // the positions not visited yet are visited); a line shorter than that, from a copy
        // padded with zeros. An anchor at the line's last byte belongs to a needle that runs
        // past the line's end, which visit() does not find anyway.
        constexpr std::size_t span = sizeof(block) + 1;  // a block and its next bytes
        std::size_t q = 0;
        for (; q + span <= text.size(); q += sizeof(block)) visit_block(text, text.data(), q, 0, fn);
        if (q == text.size()) return;
        if (text.size() >= span) {
            const std::size_t start = text.size() - span;
            visit_block(text, text.data(), start, q - start, fn);
            return;
        }
        char padded[span] = {};
        std::memcpy(padded, text.data(), text.size());
        visit_block(text, padded, 0, 0, fn);
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

    /// Visits the anchors that start in the block at `q` of `text`, from its `from`th byte on;
    /// the bytes are read from `bytes` (the text, or a padded copy of it).
    template <typename Fn>
    void visit_block(std::string_view text, const char* bytes, std::size_t q, std::size_t from,
                     Fn& fn) const {
        block here;
        block next;
        std::memcpy(&here, bytes + q, sizeof here);
        std::memcpy(&next, bytes + q + 1, sizeof next);
        block hits{};
        for (std::size_t k = 0; k < anchors_; ++k) hits |= (here == first_[k]) & (next == second_[k]);
        std::uint64_t halves[2];
        std::memcpy(halves, &hits, sizeof halves);
        if ((halves[0] | halves[1]) == 0) return;
        // Each byte of `hits` is 0 or all ones: visit only where an anchor starts (byte by
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
};

}  // namespace klog::text
