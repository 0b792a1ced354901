"""Health check and database outages: a friendly 503, then recovery on its own (real PostgreSQL)."""

import psycopg2
import pytest
from django.db import connection


@pytest.mark.django_db
def test_healthz_answers_200_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def block_connections(allow):
    """From a connection of its own, refuse (and cut) or allow again connections to the test database."""
    params = connection.get_connection_params()
    name = params.pop("dbname", None) or params.pop("database")
    admin = psycopg2.connect(**{**params, "dbname": "postgres"})
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"true" if allow else "false"}')
        if not allow:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
    admin.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs a real PostgreSQL server to cut off")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_answer_503_while_the_database_is_down_and_recover_by_themselves(client):
    assert client.get("/letters/").status_code == 200
    block_connections(allow=False)
    try:
        page = client.get("/letters/")
        assert page.status_code == 503
        assert page["Retry-After"] == "30"
        assert "Traceback" not in page.content.decode()
        assert client.get("/healthz").status_code == 503
    finally:
        block_connections(allow=True)
    assert client.get("/letters/").status_code == 200
    assert client.get("/healthz").status_code == 200
