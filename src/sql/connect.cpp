// sql::connect(): the driver for the options' dialect.
#include "sql/engines.h"

namespace mailfort::sql {

Result<std::unique_ptr<Connection>> connect(const ConnectOptions& options) {
  switch (options.dialect) {
    case Dialect::SQLite:
      return connect_sqlite(options);
    case Dialect::MySQL:
      return connect_mysql(options);
    case Dialect::PostgreSQL:
      return connect_postgresql(options);
  }
  return make_error(Errc::Perm, "sql: unknown dialect");
}

}  // namespace mailfort::sql
