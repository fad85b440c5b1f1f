// PLACEHOLDER: replaced by the ManageSieve helper.
#include "managesieve/managesieve_session.h"

#include "server/connection.h"

namespace mailfort::managesieve {

asio::awaitable<void> run_session(std::shared_ptr<server::Connection> conn, server::Services& services,
                                  std::shared_ptr<const config::Config> cfg,
                                  const config::Listener& listener) {
  co_await conn->write("BYE (TRYLATER) \"ManageSieve is not available in this build yet\"\r\n");
}

}  // namespace mailfort::managesieve
