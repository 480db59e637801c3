#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace klog::metrics {

/// Prometheus text exposition format 0.0.4: families with `# HELP` and `# TYPE`, samples with
/// escaped label values (`\\`, `\"`, `\n`), numbers as the format wants them.
class exposition {
  public:
    using label = std::pair<std::string_view, std::string_view>;

    void family(std::string_view name, std::string_view type, std::string_view help);
    void sample(std::string_view name, std::initializer_list<label> labels, double value);
    void sample(std::string_view name, std::initializer_list<label> labels, std::uint64_t value);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

  private:
    void begin(std::string_view name, std::initializer_list<label> labels);

    std::string text_;
};

}  // namespace klog::metrics
