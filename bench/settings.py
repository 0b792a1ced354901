"""
The production settings (``archive.settings``, read from the same environment
variables), with the collected static files in a folder of the benchmark's
own: ``BENCH_STATIC_ROOT``. DEBUG off needs the manifest that collectstatic
writes; the benchmark collects into its own folder so that it never races
another ``collectstatic --clear`` on the project's ``staticfiles/``.

Everything else (middleware, templates, database from DATABASE_URL,
persistent connections) is what production runs.
"""

import os
from pathlib import Path

from archive.settings import *  # noqa: F403

if os.environ.get("BENCH_STATIC_ROOT"):
    STATIC_ROOT = Path(os.environ["BENCH_STATIC_ROOT"])

# Expected 4xx answers (none in the benchmark's URLs) would otherwise log a warning per request.
LOGGING["loggers"]["django.request"] = {"level": "ERROR"}  # noqa: F405
