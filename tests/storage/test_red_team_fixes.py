"""Fixes from the red-team report: bulk delete vs uploads, sizes from a
listing, usage dates at the edge of the calendar, names the API refuses,
and invalid UTF-8 in a file URL."""

from __future__ import annotations

import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from apikeys.services import api_key_create
from storage import services
from storage.models import Namespace
from storage.resync import usage_resync
from tests.conftest import key_client, make_user
from tests.storage.conftest import (
    BULK_URL,
    FILES_URL,
    USAGE_URL,
    file_url,
    upload,
    usage_of,
)
from tests.storage.test_files import put_raw


def s3_totals(s3, prefix: str) -> tuple[int, int]:
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=django_settings.S3_BUCKET, Prefix=prefix
    )
    objects = [
        item
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"] != prefix
    ]
    return sum(item["Size"] for item in objects), len(objects)


def wait_for_blocked_advisory_lock(thread: threading.Thread) -> None:
    """Return once another session waits for an advisory lock (or `thread`
    has finished without ever waiting, as it did before the fix)."""
    for _attempt in range(1000):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks"
                " WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0] or not thread.is_alive():
                return
        time.sleep(0.01)


# --- 1. A bulk delete racing an upload of the same name -----------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("others", [0, 2 * services.BULK_HEAD_THRESHOLD])
def test_upload_landing_during_bulk_delete_leaves_usage_equal_to_s3(s3, others):
    """The upload holds the name's lock; the bulk delete waits for it, then
    learns the NEW size (by HEAD or by listing) and releases exactly that."""
    owner = make_user("racer@example.com")
    api_key, secret = api_key_create(owner=owner, name="race")
    client = key_client(api_key.access_key_id, secret)
    assert upload(client, b"o" * 10, fileName="a.txt").status_code == 201
    for index in range(others):
        upload(client, b"x" * 3, fileName=f"other/{index:03d}.txt")
    namespace = Namespace.objects.get(prefix=api_key.prefix)
    names = ["a.txt"] + [f"other/{index:03d}.txt" for index in range(others)]

    session = services.UploadSession(namespace=namespace, name="a.txt")
    session.start()
    session.feed(b"n" * 1000)
    outcome: dict = {}

    def bulk_delete() -> None:
        try:
            outcome["result"] = services.files_bulk_delete(
                namespace=Namespace.objects.get(pk=namespace.pk), names=names
            )
        finally:
            connection.close()

    thread = threading.Thread(target=bulk_delete)
    thread.start()
    wait_for_blocked_advisory_lock(thread)
    session.finish()
    thread.join()

    summary = outcome["result"]["summary"]
    assert summary["deleted"] == len(names)
    assert summary["bytesFreed"] == 1000 + 3 * others
    assert outcome["result"]["results"][0] == {
        "name": "a.txt",
        "status": "deleted",
        "size": 1000,
    }
    assert usage_of(api_key.prefix) == s3_totals(s3, api_key.prefix) == (0, 0)


# --- 2. Sizes from a listing for large batches ---------------------------------


def test_large_bulk_delete_reports_each_name_as_before(key_tenant, s3):
    client, prefix, _key = key_tenant
    stored = [f"docs/{index:03d}.txt" for index in range(40)]
    for index, name in enumerate(stored):
        assert upload(client, b"d" * (index + 1), fileName=name).status_code == 201
    assert upload(client, b"k" * 7, fileName="keep/me.txt").status_code == 201
    missing = [f"docs/{index:03d}.md" for index in range(5)] + ["zzz/none.txt"]
    names = ["docs/039.txt"] + stored + missing + ["docs/000.txt"]

    body = client.post(BULK_URL, {"names": names}, format="json").json()

    assert body["summary"] == {
        "requested": len(names),
        "unique": 46,
        "deleted": 40,
        "notFound": 6,
        "errors": 0,
        "bytesFreed": sum(range(1, 41)),
    }
    assert body["results"][0] == {
        "name": "docs/039.txt",
        "status": "deleted",
        "size": 40,
    }
    assert body["results"][1] == {
        "name": "docs/000.txt",
        "status": "deleted",
        "size": 1,
    }
    assert body["results"][-2] == {"name": "zzz/none.txt", "status": "not_found"}
    assert body["results"][-1] == {"name": "docs/000.txt", "status": "duplicate"}
    assert usage_of(prefix) == s3_totals(s3, prefix) == (7, 1)


def test_listing_that_runs_out_of_pages_heads_the_rest(key_tenant, s3, monkeypatch):
    """One page budget, 1000 unrelated keys in the range: the names past
    the listed page are still found (by HEAD) and sized right."""
    monkeypatch.setattr(services, "_SIZE_LIST_PAGES", 1)
    client, prefix, _key = key_tenant
    put_raw(s3, [f"{prefix}m/{index:04d}" for index in range(1000)])
    early = [f"a/{index:02d}.txt" for index in range(15)]
    late = [f"z/{index:02d}.txt" for index in range(15)]
    for name in early + late:
        assert upload(client, b"s" * 5, fileName=name).status_code == 201
    before_bytes, before_objects = usage_of(prefix)

    body = client.post(BULK_URL, {"names": early + late}, format="json").json()

    assert body["summary"]["deleted"] == 30
    assert body["summary"]["bytesFreed"] == 150
    assert {item["status"] for item in body["results"]} == {"deleted"}
    assert usage_of(prefix) == (before_bytes - 150, before_objects - 30)
    assert s3_totals(s3, prefix)[1] == 1000


def test_bulk_delete_does_not_reach_another_tenant(key_tenant, other_tenant, s3):
    client, _prefix, _key = key_tenant
    other_client, other_prefix = other_tenant
    names = [f"f/{index:02d}.txt" for index in range(30)]
    for name in names:
        assert upload(other_client, b"v" * 2, fileName=name).status_code == 201

    body = client.post(BULK_URL, {"names": names}, format="json").json()

    assert body["summary"]["notFound"] == 30
    assert usage_of(other_prefix) == s3_totals(s3, other_prefix) == (60, 30)


# --- 3. Usage dates at the edges of the calendar ----------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "to=0001-01-01",
        "to=0001-01-29",
        "from=0001-01-01",
        "from=9999-12-31",
        "from=0001-01-01&to=9999-12-31",
    ],
)
def test_usage_dates_at_the_edges_are_400(key_tenant, query):
    client, _prefix, _key = key_tenant

    response = client.get(f"{USAGE_URL}?{query}")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "query",
    ["to=0001-01-30", "from=0001-01-01&to=0001-01-01", "from=9999-12-31&to=9999-12-31"],
)
def test_usage_dates_at_the_edges_that_fit_are_200(key_tenant, query):
    client, _prefix, _key = key_tenant

    response = client.get(f"{USAGE_URL}?{query}")

    assert response.status_code == 200
    assert response.json()["history"] == []


# --- 4. Keys the API would refuse, put there by other tools ----------------------


ODD_NAMES = ["a//b.txt", "../escape.txt", " ", "dir/./x.txt", "back\\slash.txt"]


def test_keys_with_refused_names_are_hidden_from_listing_analytics_and_resync(
    key_tenant, other_tenant, s3
):
    client, prefix, _key = key_tenant
    other_client, _other_prefix = other_tenant
    assert upload(client, b"k" * 4, fileName="ok.txt").status_code == 201
    put_raw(s3, [prefix + name for name in ODD_NAMES], body=b"odd" * 10)

    listed = client.get(FILES_URL).json()
    analytics = client.get("/api/storage/analytics").json()
    result = usage_resync(namespace=Namespace.objects.get(prefix=prefix))

    assert [item["name"] for item in listed["files"]] == ["ok.txt"]
    assert analytics["scan"]["files"] == 1
    assert analytics["scan"]["bytes"] == 4
    assert (result.after.bytes_used, result.after.objects) == (4, 1)
    assert result.hidden_bytes == 30 * len(ODD_NAMES)
    assert usage_of(prefix) == (4, 1)
    assert other_client.get(FILES_URL).json()["files"] == []


def test_refused_names_stay_refused_for_delete_and_traverse_nowhere(
    key_tenant, other_tenant, s3
):
    client, prefix, _key = key_tenant
    _other_client, other_prefix = other_tenant
    put_raw(s3, [prefix + "a//b.txt", other_prefix + "victim.txt"])
    escape = "../" + other_prefix.rsplit("/", 2)[-2] + "/victim.txt"

    single = client.delete(file_url("a//b.txt"))
    bulk = client.post(BULK_URL, {"names": [escape]}, format="json")

    assert single.status_code == 400
    assert single.json()["error"]["code"] == "invalid_name"
    assert bulk.status_code == 400
    assert bulk.json()["error"]["code"] == "invalid_name"
    assert s3.head_object(Bucket=django_settings.S3_BUCKET, Key=prefix + "a//b.txt")
    assert s3.head_object(
        Bucket=django_settings.S3_BUCKET, Key=other_prefix + "victim.txt"
    )


# --- 5. Invalid UTF-8 in the file URL ----------------------------------------------


def as_sent(client, method: str, path: str, **extra):
    """A request carrying its raw target the way gunicorn passes it (RAW_URI);
    Django's own WSGI request keeps only the decoded path."""
    return getattr(client, method)(path, RAW_URI=path, **extra)


def test_invalid_utf8_in_the_url_is_400_and_reaches_no_file(key_tenant, s3):
    client, prefix, _key = key_tenant
    assert upload(client, b"p" * 9, fileName="%FF.txt").status_code == 201

    for method, path in (
        ("delete", f"{FILES_URL}/%FF.txt"),
        ("get", f"{FILES_URL}/%FF.txt?download=true"),
        ("get", f"{FILES_URL}/dir/%C3%28.txt/metadata"),
    ):
        response = as_sent(client, method, path)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_name"
    assert usage_of(prefix) == (9, 1)

    deleted = as_sent(client, "delete", f"{FILES_URL}/%25FF.txt")

    assert deleted.status_code == 200
    assert deleted.json()["name"] == "%FF.txt"
    assert usage_of(prefix) == s3_totals(s3, prefix) == (0, 0)


def test_valid_utf8_names_still_work_with_a_raw_uri(key_tenant):
    client, _prefix, _key = key_tenant
    assert upload(client, b"u" * 3, fileName="café é.txt").status_code == 201

    response = as_sent(client, "get", f"{FILES_URL}/caf%C3%A9%20%C3%A9.txt/metadata")

    assert response.status_code == 200
    assert response.json()["size"] == 3


def test_invalid_utf8_in_the_url_is_401_without_credentials(anon_client):
    response = as_sent(anon_client, "delete", f"{FILES_URL}/%FF.txt")

    assert response.status_code == 401
