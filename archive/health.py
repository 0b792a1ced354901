"""
Health and database outages.

``healthz`` answers 200 when the database answers, 503 otherwise, for load
balancers and monitoring. ``DatabaseUnavailableMiddleware`` turns a lost
database connection in any page into a friendly 503 page (with Retry-After)
instead of a stack trace; Django opens a new connection on the next request,
so the site recovers by itself when the database is back.
"""

import logging

from django.db import connections
from django.db.utils import Error, InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger("archive.health")

RETRY_AFTER_SECONDS = "30"


def database_answers(alias="default"):
    """Whether the database answers now; a dead connection is dropped and a new one tried once."""
    for _attempt in range(2):
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone() == (1,)
        except Error:
            connections[alias].close()
    return False


def healthz(request):
    if database_answers():
        return JsonResponse({"status": "ok", "database": "ok"})
    response = JsonResponse({"status": "unavailable", "database": "unreachable"}, status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def unavailable_response(request):
    response = HttpResponse(render_to_string("503.html", request=None), status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


class DatabaseUnavailableMiddleware:
    """A page that loses the database answers 503 with a friendly page, and the connection is dropped."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.error("Database connection lost while serving %s: %s", request.path, exception)
            for connection in connections.all(initialized_only=True):
                try:
                    connection.close()
                except Error:
                    connection.connection = None
            return unavailable_response(request)
        return None
