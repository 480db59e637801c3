#pragma once

#include <cstdint>
#include <filesystem>
#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace klog::symbols {

// /proc/modules: `crc7 16384 0 - Live 0xffffffffc0232000`. Gives each module's base and size,
// which bound the last symbol of the module and tell which addresses belong to a module at all.
// A base of 0 (kptr_restrict) leaves the base unknown.
class module_list {
  public:
    struct module {
        std::string name;
        std::uint64_t size = 0;
        std::optional<std::uint64_t> base;
        std::string state;  // Live, Loading (its init runs, or failed), Unloading

        bool operator==(const module&) const = default;

        std::optional<std::uint64_t> end() const noexcept {
            if (!base) return std::nullopt;
            return *base + size;
        }
    };

    static module_list parse(std::string_view text, std::string_view source);
    static module_list parse(std::istream& in, std::string_view source);
    // Throws std::system_error naming the path when it cannot be read.
    static module_list load(const std::filesystem::path& path);

    const std::vector<module>& modules() const noexcept { return modules_; }
    const module* find(std::string_view name) const noexcept;
    bool empty() const noexcept { return modules_.empty(); }
    const std::vector<std::string>& diagnostics() const noexcept { return diagnostics_; }
    // The same modules at the same places in the same states (reference counts aside): no
    // module symbol can have changed, short of an unload and a load of the same module at the
    // same address between the two reads.
    bool same_modules(const module_list& other) const noexcept {
        return modules_ == other.modules_;
    }

  private:
    std::vector<module> modules_;
    std::vector<std::string> diagnostics_;
};

}  // namespace klog::symbols
