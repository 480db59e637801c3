#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace klog::text {

/// Sixteen bytes looked at together: GCC's generic vectors (SSE2 on x86-64, NEON on arm64,
/// plain code elsewhere). A comparison gives a block whose bytes are all ones where it holds.
using block16 = signed char __attribute__((vector_size(16)));

[[nodiscard]] inline block16 load16(const void* p) noexcept {
    block16 b;
    std::memcpy(&b, p, sizeof b);
    return b;
}

/// The index of the first byte of `marks` at or after `from` (< 16) that is set, or 16.
[[nodiscard]] inline std::size_t first_mark(block16 marks, std::size_t from) noexcept {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    std::uint64_t half[2];
    std::memcpy(half, &marks, sizeof half);
    if (from < 8) {
        half[0] &= ~std::uint64_t{0} << (8 * from);
    } else {
        half[0] = 0;
        half[1] &= ~std::uint64_t{0} << (8 * (from - 8));
    }
    if (half[0] != 0) return static_cast<std::size_t>(__builtin_ctzll(half[0])) / 8;
    if (half[1] != 0) return 8 + static_cast<std::size_t>(__builtin_ctzll(half[1])) / 8;
    return 16;
#else
    for (std::size_t j = from; j < 16; ++j) {
        if (marks[j] != 0) return j;
    }
    return 16;
#endif
}

/// The position of the first byte of `p[i, n)` that `mark` marks, or `n`. `mark` takes a
/// block16 and returns one with the bytes it wants set. Whole blocks of 16 bytes; the last
/// bytes in the block that ends the text (overlapping bytes already judged, which are skipped);
/// a text shorter than a block from a copy padded with blanks (a marked blank of the padding is
/// no byte of the text). Never reads outside `p[0, n)`.
template <typename Mark>
[[nodiscard]] inline std::size_t find_marked(const char* p, std::size_t n, std::size_t i,
                                             Mark&& mark) noexcept {
    for (; n - i >= 16; i += 16) {
        const std::size_t k = first_mark(mark(load16(p + i)), 0);
        if (k < 16) return i + k;
    }
    if (i == n) return n;
    if (n >= 16) return n - 16 + first_mark(mark(load16(p + n - 16)), i - (n - 16));
    char padded[16];
    std::memset(padded, ' ', sizeof padded);
    std::memcpy(padded, p + i, n - i);
    const std::size_t k = first_mark(mark(load16(padded)), 0);
    return k >= n - i ? n : i + k;
}

/// The position of the first `c` in `s` at or after `from`, or npos: inline, sixteen bytes at a
/// time (for the short texts of records, less than a call to memchr).
[[nodiscard]] inline std::size_t find_byte(std::string_view s, char c,
                                           std::size_t from = 0) noexcept {
    if (from >= s.size()) return std::string_view::npos;
    const auto byte = static_cast<signed char>(c);
    const std::size_t at =
        find_marked(s.data(), s.size(), from, [byte](block16 b) noexcept { return b == byte; });
    return at == s.size() ? std::string_view::npos : at;
}

}  // namespace klog::text
