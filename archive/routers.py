"""
Read replicas: reads go to a replica, writes and migrations to the primary.

Set ``DATABASE_REPLICA_URLS`` (comma-separated database URLs) to enable it.
A request that writes (POST, PUT, PATCH, DELETE) and every request to the
admin read from the primary for the whole request, so a curator always sees
what they have just saved; ``PrimaryPinningMiddleware`` does the pinning.
"""

import random
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

_pinned = ContextVar("archive_db_pinned_to_primary", default=False)


@contextmanager
def pinned_to_primary():
    """Read from the primary inside this block."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def replica_aliases():
    return [alias for alias in settings.DATABASES if alias.startswith("replica")]


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        replicas = replica_aliases()
        if _pinned.get() or not replicas:
            return "default"
        return random.choice(replicas)  # noqa: S311 - load spreading, not security

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class PrimaryPinningMiddleware:
    """Pin a request to the primary when it writes or comes from the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method not in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/admin/"):
            with pinned_to_primary():
                return self.get_response(request)
        return self.get_response(request)
