import datetime
import time

import pytest

from correspondence.models import Letter

pytestmark = pytest.mark.django_db


def test_t():
    t = time.perf_counter()
    Letter.objects.bulk_create(
        (
            Letter(
                slug=f"bulk-{i}",
                title=f"L {i}",
                status="published",
                date_from=datetime.date(1990 + i % 35, 1 + i % 12, 1),
                date_to=datetime.date(1990 + i % 35, 1 + i % 12, 1),
            )
            for i in range(10000)
        ),
        batch_size=1000,
    )
    print("letters", time.perf_counter() - t)
    t = time.perf_counter()
    objs = [
        Letter(
            slug=f"b2-{i}",
            title=f"L {i}",
            status="published",
            date_from=datetime.date(1990 + i % 35, 1 + i % 12, 1),
            date_to=datetime.date(1990 + i % 35, 1 + i % 12, 1),
        )
        for i in range(10000)
    ]
    print("instances", time.perf_counter() - t)
    t = time.perf_counter()
    Letter.objects.bulk_create(objs, batch_size=5000)
    print("insert 5000 batches", time.perf_counter() - t)
    t = time.perf_counter()
