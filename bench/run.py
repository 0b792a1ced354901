"""
The measurements behind ``scripts/bench``: one step per subcommand, each
writing its figures as JSON into a results folder, and ``report`` printing
them as tables.

Usage (``scripts/bench`` runs them in this order, for each database)::

    python -m bench.run import CORPUS --results DIR --label sqlite
    python -m bench.run requests --results DIR --label sqlite [--runs 20] [--warmups 3]
    python -m bench.run csv-memory --results DIR --label sqlite
    python -m bench.run load --results DIR --label sqlite [--requests 5000] [--concurrency 16] [--seconds 120]
    python -m bench.run report DIR [--markdown FILE]

The database is the one DATABASE_URL names, with the settings of
``bench.settings`` (production settings: set DJANGO_DEBUG=false,
DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS=127.0.0.1,testserver and
DJANGO_SECURE_SSL_REDIRECT=false). Requests go through the whole Django stack
(``django.test.Client``: URL routing, every middleware, templates) in this
process; ``load`` starts gunicorn on 127.0.0.1 and sends real HTTP requests to
it, and stops it.
"""

import argparse
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Datasette 0.65 medians on the same kind of corpus, in milliseconds (None: not comparable).
PEERS = {
    "list": 14,
    "sender_prolific": 65,
    "sender_typical": 12,
    "date_range": 15,
    "search_common": 150,
    "search_rare": 15,
    "facets_two": 31,
    "letter": 5,
    "page_500": 16,
}
PEER_REQUESTS_PER_SECOND = 28  # at concurrency 8


def setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def write_result(results, name, data):
    path = Path(results) / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def rss_bytes():
    """Resident memory of this process, from /proc (Linux)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# ---------------------------------------------------------------------------
# What to ask for: chosen from the database after the import
# ---------------------------------------------------------------------------


def targets():
    """The records the requests use, picked by their letter counts (not by the generator's names)."""
    from django.db.models import Count

    from correspondence.management.commands.generate_corpus import COMMON_WORD, RARE_WORDS, VERY_COMMON_WORD
    from correspondence.models import Citation, Letter, Participation

    senders = list(
        Participation.objects.filter(role="sender", letter__status="published")
        .values("agent__slug", "agent__kind")
        .annotate(n=Count("letter", distinct=True))
        .order_by("-n", "agent__slug")[:50]
    )
    prolific = senders[0]
    typical = senders[min(49, len(senders) - 1)]
    prolific_person = next(row for row in senders if row["agent__kind"] == "person")
    cited = (
        Citation.objects.filter(letter__status="published")
        .values("cited_document__slug")
        .annotate(n=Count("letter", distinct=True))
        .order_by("-n", "cited_document__slug")
        .first()
    )
    published = Letter.objects.published().order_by("pk")
    total = published.count()
    letter = published.values_list("slug", flat=True)[total // 2]
    rare = RARE_WORDS[0]
    return {
        "letters": total,
        "prolific_sender": prolific["agent__slug"],
        "prolific_sender_letters": prolific["n"],
        "prolific_person": prolific_person["agent__slug"],
        "prolific_person_letters": prolific_person["n"],
        "typical_sender": typical["agent__slug"],
        "typical_sender_letters": typical["n"],
        "cited": cited["cited_document__slug"],
        "cited_letters": cited["n"],
        "letter": letter,
        "common_word": COMMON_WORD,
        "very_common_word": VERY_COMMON_WORD,
        "rare_word": rare,
    }


def request_list(t):
    """(key, label, URL) of every page measured."""
    from urllib.parse import quote

    pages = -(-t["letters"] // 20)  # LetterListView.paginate_by
    page_500 = 500 if pages >= 500 else max(1, pages // 2)
    return [
        ("home", "home /", "/"),
        ("list", "list, first page", "/letters/"),
        ("list_json", "list, first page, JSON (no facets)", "/letters/?format=json"),
        ("sort_date", "list sorted by date, oldest first", "/letters/?sort=date"),
        ("sort_newest", "list sorted by date, newest first", "/letters/?sort=-date"),
        (
            "sender_prolific",
            f"sender: most prolific ({t['prolific_sender_letters']} letters)",
            f"/letters/?sender={t['prolific_sender']}",
        ),
        (
            "sender_typical",
            f"sender: typical ({t['typical_sender_letters']} letters)",
            f"/letters/?sender={t['typical_sender']}",
        ),
        ("date_range", "date range 2000-2005", "/letters/?date_from=2000&date_to=2005"),
        ("cited", f"cited document ({t['cited_letters']} letters)", f"/letters/?cited={t['cited']}"),
        ("search_common", f"search, common word ({t['common_word']})", f"/letters/?q={quote(t['common_word'])}"),
        (
            "search_very_common",
            f"search, very common word ({t['very_common_word']})",
            f"/letters/?q={quote(t['very_common_word'])}",
        ),
        ("search_rare", f"search, rare word ({t['rare_word']})", f"/letters/?q={quote(t['rare_word'])}"),
        (
            "search_filter",
            "search + date range 2000-2005",
            f"/letters/?q={quote(t['common_word'])}&date_from=2000&date_to=2005",
        ),
        ("page_500", f"list, page {page_500}", f"/letters/?page={page_500}"),
        ("letter", "one letter page", f"/letters/{t['letter']}/"),
        (
            "person_prolific",
            f"prolific person's page ({t['prolific_person_letters']} letters sent)",
            f"/people/{t['prolific_person']}/",
        ),
        ("export_json", "JSON export, date range 2000-2005", "/letters/?date_from=2000&date_to=2005&format=json"),
        ("export_csv", "CSV export, year 2003 (whole stream)", "/letters/?date_from=2003&date_to=2003&format=csv"),
    ]


# ---------------------------------------------------------------------------
# import
# ---------------------------------------------------------------------------


def cmd_import(args):
    corpus = Path(args.corpus)
    command = [sys.executable, str(ROOT / "manage.py"), "import_letters", str(corpus), "--verbosity", "1"]
    started = time.perf_counter()
    load_before = os.getloadavg()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)  # noqa: S603
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        sys.exit(f"bench: import_letters failed (exit {completed.returncode}).")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = completed.stdout.strip()
    letters = int(re.search(r"Created (\d+) letter", summary).group(1))

    setup_django()
    from django.db import connection

    analyse_seconds = None
    # PostgreSQL: what autovacuum does shortly after a bulk load (without it the first plans guess row
    # counts). SQLite has no such thing: its statistics exist only if someone runs ANALYZE, so it is
    # left out unless asked for (--analyze-sqlite), to measure what it changes.
    if connection.vendor == "postgresql" or args.analyze_sqlite:
        started_analyse = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        analyse_seconds = time.perf_counter() - started_analyse
    data = {
        "label": args.label,
        "corpus": str(corpus),
        "corpus_bytes": corpus.stat().st_size,
        "letters": letters,
        "seconds": elapsed,
        "letters_per_second": letters / elapsed,
        "importer_summary": summary,
        "peak_rss_bytes": peak_kb * 1024,
        "analyse_seconds": analyse_seconds,
        "load_average_before": load_before,
        "database": database_description(),
    }
    write_result(args.results, f"import-{args.label}", data)
    print(
        f"[{args.label}] imported {letters} letters in {elapsed:.1f} s: {letters / elapsed:.0f} letters/s, "
        f"peak RSS {peak_kb / 1024:.0f} MB"
    )


def database_description():
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return {"vendor": "sqlite", "version": sqlite3.sqlite_version}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "fsync"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    return {"vendor": "postgresql", "version": version, "settings": settings}


# ---------------------------------------------------------------------------
# requests
# ---------------------------------------------------------------------------


def consume(response):
    """Read the whole body, as a browser or a download would; return its size in bytes."""
    if response.streaming:
        return sum(len(chunk) for chunk in response.streaming_content)
    return len(response.content)


class TimedOut(Exception):
    pass


class time_limit:
    """
    Stop the SQL of the block after ``seconds``: SQLite's interrupt() from a
    timer, PostgreSQL's statement_timeout (set for the session by
    ``limit_statements``). Raises TimedOut.
    """

    def __init__(self, seconds):
        self.seconds = seconds
        self.timer = None
        self.fired = False

    def __enter__(self):
        from django.db import connection

        connection.ensure_connection()
        if connection.vendor == "sqlite":
            sqlite_connection = connection.connection

            def interrupt():
                self.fired = True
                sqlite_connection.interrupt()

            self.timer = threading.Timer(self.seconds, interrupt)
            self.timer.start()
        return self

    def __exit__(self, kind, error, traceback):
        from django.db import OperationalError

        if self.timer:
            self.timer.cancel()
        if error is not None and isinstance(error, OperationalError):
            message = str(error).lower()
            if "interrupted" in message or "statement timeout" in message or "canceling statement" in message:
                raise TimedOut(f"stopped after {self.seconds:.0f} s") from error
        return False


def limit_statements(seconds):
    """On PostgreSQL, cancel any statement of this process that runs longer than ``seconds``."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    def apply(connection, **kwargs):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")

    connection_created.connect(apply, weak=False)
    if connection.connection is not None:
        apply(connection)


def measure(call, runs, warmups, budget, limit):
    """
    One call with its SQL captured (queries, slowest), then ``warmups`` and
    ``runs`` timed calls: median and p95 in ms. A slow page gets fewer runs
    (at least 3) to stay within ``budget`` seconds; one whose first call
    runs past ``limit`` seconds is reported as timed out.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    figures = {"timed_out": False, "error": None}
    started = time.perf_counter()
    limiter = time_limit(limit)
    try:
        with limiter, CaptureQueriesContext(connection) as context:
            figures["result"] = call()
    except TimedOut:
        figures["timed_out"] = True
    except Exception as error:  # noqa: BLE001 -- a page that fails is reported and the others still measured
        figures["error"] = f"{type(error).__name__}: {error}"[:300]
    figures["first_ms"] = (time.perf_counter() - started) * 1000
    status = (figures.get("result") or (None,))[0]
    if status is not None and status != 200:
        # The site turns a stopped query into a 503 page (archive.health): the time limit, or a failure.
        if limiter.fired or figures["first_ms"] >= limit * 1000 * 0.95:
            figures["timed_out"] = True
        else:
            figures["error"] = f"status {status}"
    queries = context.captured_queries
    slowest = max(queries, key=lambda query: float(query["time"]), default=None)
    figures.update(
        queries=len(queries),
        sql_ms=sum(float(query["time"]) for query in queries) * 1000,
        slowest_query={"sql": slowest["sql"], "ms": float(slowest["time"]) * 1000} if slowest else None,
    )
    if figures["timed_out"] or figures["error"]:
        figures.update(median_ms=None, p95_ms=None, min_ms=None, max_ms=None, runs=0)
        return figures
    first_seconds = figures["first_ms"] / 1000
    if first_seconds * (runs + warmups) > budget:
        runs = max(3, int(budget / max(first_seconds, 1e-6)))
        warmups = 0  # the captured call was the warm-up
    for _ in range(warmups):
        call()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    figures.update(
        median_ms=statistics.median(timings),
        p95_ms=percentile(timings, 0.95),
        min_ms=min(timings),
        max_ms=max(timings),
        runs=runs,
    )
    return figures


def cmd_requests(args):
    setup_django()
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client

    from correspondence.filters import LetterFilterSet
    from correspondence.models import Letter

    limit_statements(args.limit)
    t = targets()
    client = Client()
    rows = []
    load_before = os.getloadavg()
    wanted = set(args.only or ())

    def page(url):
        def call():
            response = client.get(url)
            size = consume(response)
            return response.status_code, size

        return call

    def show(row):
        if row["timed_out"]:
            figures = f"stopped after {args.limit:.0f} s (query still running)"
        elif row["error"]:
            figures = f"FAILED: {row['error']}"
        else:
            figures = f"{row['median_ms']:9.1f} ms  p95 {row['p95_ms']:9.1f}  {row['queries']:3d} q"
            if row["bytes"] is not None:
                figures += f"  {row['bytes']:>9} B  (status {row['status']}, {row['runs']} runs)"
            else:
                figures += f"  ({row['runs']} runs)"
        print(f"[{args.label}] {row['label']:<58} {figures}", flush=True)

    from django.core.cache import cache

    for key, label, url in request_list(t):
        if wanted and key not in wanted:
            continue
        # The first request of each page finds an empty cache (facet counts, charts, result counts and rows are
        # cached per archive generation): its time is the cold figure; the median and p95 are warm.
        cache.clear()
        figures = measure(page(url), args.runs, args.warmups, args.budget, args.limit)
        status, size = figures.pop("result", (None, None))
        row = {"key": key, "label": label, "url": url, "status": status, "bytes": size, **figures}
        rows.append(row)
        show(row)

    def facets(names):
        def call():
            filterset = LetterFilterSet(data=QueryDict(""), queryset=Letter.objects.published().with_people())
            filterset.errors  # noqa: B018 -- validates, as the view does before counting
            for name in names:
                filterset.facet(name)
            return None, None  # no HTTP status, no body

        return call

    for key, label, names in (
        ("facets_two", "facets: sender + place of writing (in-process)", ("sender", "place_written")),
        ("facets_all", f"facets: all {len(LetterFilterSet.FACETS)} of the list (in-process)", LetterFilterSet.FACETS),
    ):
        if wanted and key not in wanted:
            continue
        figures = measure(facets(names), args.runs, args.warmups, args.budget, args.limit)
        figures.pop("result", None)
        row = {"key": key, "label": label, "url": None, "status": None, "bytes": None, **figures}
        rows.append(row)
        show(row)

    plans = []
    slowest_first = sorted(rows, key=lambda row: -(float("inf") if row["timed_out"] else row["median_ms"] or 0.0))
    for row in slowest_first[: args.explain]:
        if not row["slowest_query"]:
            continue
        plans.append(
            {
                "key": row["key"],
                "label": row["label"],
                "query_ms": row["slowest_query"]["ms"],
                "sql": row["slowest_query"]["sql"],
                "plan": explain(connection, row["slowest_query"]["sql"]),
            }
        )
    path = Path(args.results) / f"requests-{args.label}.json"
    if wanted and path.exists():
        # Re-measured rows replace their old figures; the others and their plans are kept.
        previous = json.loads(path.read_text(encoding="utf-8"))
        measured = {row["key"]: row for row in rows}
        rows = [measured.pop(row["key"], row) for row in previous["rows"]] + list(measured.values())
        plans = [plan for plan in previous["plans"] if plan["key"] not in wanted] + plans
        load_before = previous["load_average_before"]
    data = {
        "label": args.label,
        "targets": t,
        "rows": rows,
        "plans": plans,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "database": database_description(),
    }
    write_result(args.results, f"requests-{args.label}", data)


def explain(connection, sql):
    """The plan of one captured query: EXPLAIN QUERY PLAN (SQLite) or EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL)."""
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                rows = cursor.fetchall()
                depth = {0: -1}
                lines = []
                for node, parent, _unused, detail in rows:
                    depth[node] = depth.get(parent, -1) + 1
                    lines.append("  " * depth[node] + detail)
                return "\n".join(lines)
            try:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            except Exception:  # noqa: BLE001 -- too slow to run (statement_timeout): the plan alone
                cursor.execute("EXPLAIN " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
    except Exception as error:  # noqa: BLE001 -- a plan that cannot be had is reported, not fatal
        return f"(no plan: {error})"


# ---------------------------------------------------------------------------
# csv-memory
# ---------------------------------------------------------------------------


def cmd_csv_memory(args):
    setup_django()
    from django.test import Client

    client = Client()
    consume(client.get("/letters/?format=csv&date_from=2003-01-01&date_to=2003-01-02"))  # warm up: imports, caches
    samples = []
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(rss_bytes())
            stop.wait(0.05)

    baseline = rss_bytes()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    response = client.get("/letters/?format=csv")
    size = rows = 0
    checkpoints = []
    for chunk in response.streaming_content:
        size += len(chunk)
        rows += 1
        if rows % 5000 == 0:
            checkpoints.append((rows, rss_bytes()))
    elapsed = time.perf_counter() - started
    stop.set()
    sampler.join()
    peak = max(samples + [rss_bytes()])
    data = {
        "label": args.label,
        "rows": rows - 1,
        "bytes": size,
        "seconds": elapsed,
        "rss_baseline_bytes": baseline,
        "rss_peak_bytes": peak,
        "rss_checkpoints": checkpoints,
        "status": response.status_code,
    }
    write_result(args.results, f"csv-{args.label}", data)
    first = checkpoints[0][1] if checkpoints else peak
    print(
        f"[{args.label}] whole-archive CSV: {rows - 1} rows, {size / 1e6:.1f} MB in {elapsed:.1f} s; "
        f"RSS {baseline / 1e6:.0f} MB before, {first / 1e6:.0f} MB after 5,000 rows, peak {peak / 1e6:.0f} MB"
    )


# ---------------------------------------------------------------------------
# load
# ---------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/letters/?format=json")
            connection.getresponse().read()
            connection.close()
            return True
        except OSError:
            time.sleep(0.3)
    return False


def load_client(port, urls, total, concurrency, seconds):
    """Send ``total`` GET requests (at most ``seconds``) from ``concurrency`` threads; return the figures."""
    lock = threading.Lock()
    state = {"next": 0}
    latencies, errors, statuses = [], [], {}
    deadline = time.monotonic() + seconds

    def worker():
        while True:
            with lock:
                index = state["next"]
                if index >= total or time.monotonic() > deadline:
                    return
                state["next"] += 1
            url = urls[index % len(urls)]
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", url, headers={"Host": "127.0.0.1"})
                response = connection.getresponse()
                response.read()
                status = response.status
                connection.close()
            except (OSError, http.client.HTTPException) as error:
                status = type(error).__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status != 200:
                    errors.append(f"{url}: {status}")

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    give_up = time.monotonic() + seconds + 120
    while any(thread.is_alive() for thread in threads) and time.monotonic() < give_up:
        time.sleep(0.2)  # in the main thread: Ctrl-C and SIGTERM get through
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "seconds": elapsed,
        "requests_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "errors": len(errors),
        "error_examples": errors[:10],
        "statuses": statuses,
        "median_ms": statistics.median(latencies) if latencies else None,
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies) if latencies else None,
        "stopped_by_time_limit": len(latencies) < total,
    }


def cmd_load(args):
    setup_django()
    t = targets()
    # Every page of the table except the whole-stream CSV (measured on its own) and the pages that
    # failed, did not finish within the time limit or took more than --slowest ms in the ``requests``
    # step: a few of those would hold every worker and the figure would measure them alone.
    timed_out = set()
    measured = Path(args.results) / f"requests-{args.label}.json"
    if measured.exists():
        rows = json.loads(measured.read_text())["rows"]
        timed_out = {
            row["key"]
            for row in rows
            if row["timed_out"]
            or row.get("error")
            or row["status"] not in (None, 200)
            or (row["median_ms"] or 0) > args.slowest
        }
    mix = [(key, url) for key, _label, url in request_list(t) if key != "export_csv" and key not in timed_out]
    urls = [url for _key, url in mix]
    workers = args.workers or min(4, max(2, (os.cpu_count() or 1) + 1))
    port = free_port()
    environment = dict(os.environ, DJANGO_SETTINGS_MODULE="bench.settings")
    # The workers share one cache, as app servers share Redis in production (docs/scaling.md): a page's
    # facets, charts and counts computed by one worker serve the others.
    cache_dir = None
    if not environment.get("DJANGO_CACHE_URL"):
        cache_dir = tempfile.mkdtemp(prefix="archive-bench-cache-")
        environment["DJANGO_CACHE_URL"] = f"file://{cache_dir}"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "archive.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--timeout",
        "90",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    server = subprocess.Popen(command, env=environment, cwd=ROOT)  # noqa: S603
    # A SIGTERM (scripts/bench stopped) must still stop gunicorn: make it an exception, so finally runs.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))
    results = []
    try:
        if not wait_for(port, server):
            sys.exit("bench: gunicorn did not answer on 127.0.0.1 within 60 s.")
        # Warm-up: each page once (the cold figures are in the requests table), then the timed load.
        warm_up = time.perf_counter()
        for url in urls:
            fetch_once(port, url)
        print(f"[{args.label}] load: {len(urls)} pages fetched once in {time.perf_counter() - warm_up:.1f} s (warm-up)")
        for level in args.concurrency:
            load_before = os.getloadavg()
            figures = load_client(port, urls, args.requests, level, args.seconds)
            figures.update(
                concurrency=level,
                workers=workers,
                urls=len(urls),
                left_out=sorted(timed_out),
                load_average_before=load_before,
            )
            results.append(figures)
            print(
                f"[{args.label}] load, {workers} gunicorn workers, concurrency {level}: "
                f"{figures['requests']} requests in {figures['seconds']:.1f} s = "
                f"{figures['requests_per_second']:.1f} requests/s, {figures['errors']} errors, "
                f"median {figures['median_ms']:.0f} ms, p95 {figures['p95_ms']:.0f} ms"
                + (" (stopped by the time limit)" if figures["stopped_by_time_limit"] else ""),
                flush=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
    write_result(args.results, f"load-{args.label}", {"label": args.label, "runs": results})


def fetch_once(port, url, timeout=120):
    """GET ``url`` from the server on 127.0.0.1 and read the whole answer; its status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", url, headers={"Host": "127.0.0.1"})
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def machine():
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            platform.processor(),
        )
    except OSError:
        cpu = platform.processor()
    import sqlite3

    import django

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory": memory,
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def load_results(folder):
    results = {}
    for path in sorted(Path(folder).glob("*.json")):
        results[path.stem] = json.loads(path.read_text(encoding="utf-8"))
    return results


def fmt(value, digits=1):
    if value is None:
        return "–"
    return f"{value:,.{digits}f}".replace(",", " ")


def cmd_report(args):
    results = load_results(args.folder)
    labels = [name.removeprefix("requests-") for name in results if name.startswith("requests-")]
    labels.sort(key=lambda label: (label != "sqlite", label))
    lines = []
    info = machine()
    pg = next(
        (r["database"]["version"] for r in results.values() if r.get("database", {}).get("vendor") == "postgresql"),
        None,
    )
    lines.append(
        f"Machine: {info['cpus']} CPU ({info['cpu']}), {info['memory']}, {info['system']}; Python {info['python']}, "
        f"Django {info['django']}, SQLite {info['sqlite']}" + (f", PostgreSQL {pg}" if pg else "")
    )
    for label in labels:
        data = results.get(f"import-{label}")
        if data:
            lines.append(
                f"Import ({label}): {data['letters']} letters ({data['corpus_bytes'] / 1e6:.0f} MB of JSON) in "
                f"{data['seconds']:.1f} s = {data['letters_per_second']:.0f} letters/s; "
                f"import_letters peak RSS {data['peak_rss_bytes'] / 1e6:.0f} MB"
                + (f"; ANALYZE {data['analyse_seconds']:.1f} s" if data.get("analyse_seconds") else "")
            )
    lines.append("")
    header = "| request | " + " | ".join(
        f"{label} median ms | {label} p95 ms | {label} cold ms | {label} queries" for label in labels
    )
    header += " | bytes | Datasette 0.65 median ms | meets it? |"
    lines.append(header)
    lines.append("|" + "---|" * (header.count("|") - 1))
    requests = {label: {row["key"]: row for row in results[f"requests-{label}"]["rows"]} for label in labels}
    first = results[f"requests-{labels[0]}"]["rows"] if labels else []
    for row in first:
        key = row["key"]
        cells = [row["label"]]
        for label in labels:
            other = requests[label].get(key, {})
            if other.get("timed_out") or other.get("status") == 503:
                cells += [f"> {other['first_ms'] / 1000:.0f} s (stopped)", "–", "–", str(other.get("queries", "–"))]
            elif other.get("error"):
                cells += ["failed", "–", "–", "–"]
            else:
                cold = fmt(other.get("first_ms")) if other.get("url") else "–"
                cells += [fmt(other.get("median_ms")), fmt(other.get("p95_ms")), cold, str(other.get("queries", "–"))]
        cells.append(f"{row['bytes']:,}".replace(",", " ") if row["bytes"] is not None else "–")
        peer = PEERS.get(key)
        cells.append(str(peer) if peer else "")
        if peer:
            verdicts = [
                f"{label}: {'yes' if (requests[label][key]['median_ms'] or float('inf')) <= peer else 'no'}"
                for label in labels
                if key in requests[label]
            ]
            cells.append(", ".join(verdicts))
        else:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for label in labels:
        for run in results.get(f"load-{label}", {}).get("runs", []):
            verdict = "yes" if run["requests_per_second"] >= PEER_REQUESTS_PER_SECOND else "no"
            lines.append(
                f"Load ({label}, gunicorn {run['workers']} workers, concurrency {run['concurrency']}, "
                f"{run['urls']} URLs in turn): {run['requests']} requests in {run['seconds']:.1f} s = "
                f"{run['requests_per_second']:.1f} requests/s, {run['errors']} errors, median {fmt(run['median_ms'], 0)} ms, "
                f"p95 {fmt(run['p95_ms'], 0)} ms"
                + (" (time limit reached)" if run["stopped_by_time_limit"] else "")
                + (
                    f"; left out (slower than 10 s, timed out or failed): {', '.join(run['left_out'])}"
                    if run.get("left_out")
                    else ""
                )
                + f"; Datasette: {PEER_REQUESTS_PER_SECOND} requests/s at concurrency 8: meets it? {verdict}"
            )
    for label in labels:
        data = results.get(f"csv-{label}")
        if data:
            checkpoints = data["rss_checkpoints"]
            first_rss = checkpoints[0][1] if checkpoints else data["rss_peak_bytes"]
            lines.append(
                f"Whole-archive CSV ({label}): {data['rows']} rows, {data['bytes'] / 1e6:.1f} MB in "
                f"{data['seconds']:.1f} s ({data['rows'] / data['seconds']:.0f} rows/s); RSS {data['rss_baseline_bytes'] / 1e6:.0f} MB "
                f"before, {first_rss / 1e6:.0f} MB after 5,000 rows, peak {data['rss_peak_bytes'] / 1e6:.0f} MB"
            )
    for label in labels:
        for row in results[f"requests-{label}"]["rows"]:
            if row.get("error"):
                lines.append(f"FAILED ({label}): {row['label']} ({row['url']}): {row['error']}")
    for label in labels:
        data = results[f"requests-{label}"]
        lines.append(
            f"Load average during the {label} requests: {fmt(data['load_average_before'][0], 2)} before, "
            f"{fmt(data['load_average_after'][0], 2)} after (1-minute)."
        )
    text = "\n".join(lines)
    print(text)
    if args.plans:
        for label in labels:
            for plan in results[f"requests-{label}"]["plans"]:
                print(f"\n--- {label}: {plan['label']}: slowest query {plan['query_ms']:.1f} ms")
                print(plan["sql"][:2000] + (" ..." if len(plan["sql"]) > 2000 else ""))
                print(plan["plan"])
    if args.markdown:
        Path(args.markdown).write_text(text + "\n", encoding="utf-8")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    one = commands.add_parser("import", help="Time import_letters on the corpus.")
    one.add_argument("corpus")
    one.add_argument("--analyze-sqlite", action="store_true", help="Run ANALYZE on SQLite too after the import.")
    for sub in (one,):
        sub.add_argument("--results", required=True)
        sub.add_argument("--label", required=True)

    requests = commands.add_parser("requests", help="Median and p95 of each page through the Django stack.")
    requests.add_argument("--runs", type=int, default=20)
    requests.add_argument("--warmups", type=int, default=3)
    requests.add_argument("--budget", type=float, default=40.0, help="Seconds per page at most (fewer runs if slow).")
    requests.add_argument("--limit", type=float, default=60.0, help="Stop a page whose SQL runs longer than this.")
    requests.add_argument("--explain", type=int, default=6, help="Plans of the slowest N pages.")
    requests.add_argument("--only", nargs="+", metavar="KEY", help="Measure these rows again (e.g. facets_two).")

    memory = commands.add_parser("csv-memory", help="Memory while streaming the whole archive as CSV.")

    load = commands.add_parser("load", help="Requests per second through gunicorn.")
    load.add_argument("--requests", type=int, default=5000)
    load.add_argument("--concurrency", type=int, nargs="+", default=[16])
    load.add_argument("--seconds", type=float, default=120.0, help="Stop each run after this long.")
    load.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: CPUs + 1, 2 to 4).")
    load.add_argument(
        "--slowest", type=float, default=10_000, help="Leave out pages slower than this (ms, in-process median)."
    )

    for sub in (requests, memory, load):
        sub.add_argument("--results", required=True)
        sub.add_argument("--label", required=True)

    report = commands.add_parser("report", help="Print the tables of a results folder.")
    report.add_argument("folder")
    report.add_argument("--markdown", help="Also write the tables to this file.")
    report.add_argument("--plans", action="store_true", help="Print the plans of the slowest queries.")

    args = parser.parse_args(argv)
    {
        "import": cmd_import,
        "requests": cmd_requests,
        "csv-memory": cmd_csv_memory,
        "load": cmd_load,
        "report": cmd_report,
    }[args.command](args)


if __name__ == "__main__":
    main()
