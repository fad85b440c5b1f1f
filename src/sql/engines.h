// The engine drivers behind sql::connect() (one file each); internal to src/sql.
#pragma once
#include <memory>

#include "sql/sql.h"

namespace mailfort::sql {

Result<std::unique_ptr<Connection>> connect_sqlite(const ConnectOptions& options);      // sqlite_connection.cpp
Result<std::unique_ptr<Connection>> connect_mysql(const ConnectOptions& options);       // mysql_connection.cpp
Result<std::unique_ptr<Connection>> connect_postgresql(const ConnectOptions& options);  // postgresql_connection.cpp

}  // namespace mailfort::sql
