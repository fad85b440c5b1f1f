"""Issue 15 on MariaDB (libmariadb): the guide's vmail schema as it is, the
CLI on it, init-schema, migrate, hostile addresses. The tests are in
directory_cases.py, shared with test_directory_postgresql.py."""
import pytest

from dbservers import MARIADB_AVAILABLE, shared_mariadb  # noqa: F401
from directory_cases import *  # noqa: F401,F403

pytestmark = pytest.mark.skipif(not MARIADB_AVAILABLE, reason="needs Debian's mariadb-server")


@pytest.fixture(scope="module")
def engine():
    return "mysql"
