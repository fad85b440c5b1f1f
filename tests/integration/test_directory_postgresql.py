"""Issue 15 on PostgreSQL 15 (libpq): the guide's vmail tables with the
same names, columns and types, the CLI on them, init-schema, migrate,
hostile addresses. The tests are in directory_cases.py, shared with
test_directory_mysql.py."""
import pytest

from dbservers import POSTGRESQL_AVAILABLE, shared_postgresql  # noqa: F401
from directory_cases import *  # noqa: F401,F403

pytestmark = pytest.mark.skipif(not POSTGRESQL_AVAILABLE, reason="needs Debian's postgresql-15")


@pytest.fixture(scope="module")
def engine():
    return "postgresql"
