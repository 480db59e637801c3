#pragma once

#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>

namespace klog {

/// The dictionary of a record (`SUBSYSTEM=pci`, `DEVICE=+pci:0000:00:00.0`, ...), stored as
/// unescaped `KEY=VALUE` entries separated by '\n'. An escaped newline (`\x0a`) inside a value
/// is the one escape the decoder leaves as it is, so that it can never split an entry.
class dictionary_view {
  public:
    struct entry {
        std::string_view key;
        std::string_view value;
    };

    class iterator {
      public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = entry;
        using difference_type = std::ptrdiff_t;
        using pointer = const entry*;
        using reference = const entry&;

        iterator() = default;
        iterator(std::string_view rest, std::size_t count) noexcept;
        reference operator*() const noexcept { return current_; }
        pointer operator->() const noexcept { return &current_; }
        iterator& operator++() noexcept;
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.remaining_ == b.remaining_;
        }

      private:
        void load() noexcept;
        std::string_view rest_;
        std::size_t remaining_ = 0;
        entry current_;
    };

    dictionary_view() = default;
    /// `block`: entries joined by '\n'; `count`: how many entries it holds (entries may be
    /// empty strings, so the count is kept rather than derived).
    dictionary_view(std::string_view block, std::size_t count) noexcept
        : block_(block), count_(count) {}

    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] std::string_view block() const noexcept { return block_; }
    [[nodiscard]] iterator begin() const noexcept { return {block_, count_}; }
    [[nodiscard]] iterator end() const noexcept { return {}; }
    /// Value of the first entry named `key`, if any.
    [[nodiscard]] std::optional<std::string_view> find(std::string_view key) const noexcept;

  private:
    std::string_view block_;
    std::size_t count_ = 0;
};

}  // namespace klog
