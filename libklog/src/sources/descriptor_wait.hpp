#pragma once

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <system_error>

namespace klog::sources::detail {

/// Waits for `descriptor` to become readable; a closed descriptor or a cancelled wait completes
/// with std::errc::operation_canceled. Shared by the descriptor-based sources.
inline void async_wait_readable(boost::asio::posix::stream_descriptor& descriptor,
                                std::function<void(std::error_code)> done) {
    if (!descriptor.is_open()) {
        boost::asio::post(descriptor.get_executor(), [done = std::move(done)] {
            done(std::make_error_code(std::errc::operation_canceled));
        });
        return;
    }
    descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                          [done = std::move(done)](const boost::system::error_code& bec) {
                              if (bec == boost::asio::error::operation_aborted) {
                                  done(std::make_error_code(std::errc::operation_canceled));
                              } else {
                                  done(std::error_code(bec.value(), std::generic_category()));
                              }
                          });
}

}  // namespace klog::sources::detail
