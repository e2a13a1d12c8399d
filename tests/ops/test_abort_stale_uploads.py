"""`manage.py abort_stale_uploads` clears multipart uploads a crash left."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from storage import s3 as storage_s3


def _start_upload(s3, key: str) -> str:
    response = s3.create_multipart_upload(Bucket=settings.S3_BUCKET, Key=key)
    s3.upload_part(
        Bucket=settings.S3_BUCKET,
        Key=key,
        UploadId=response["UploadId"],
        PartNumber=1,
        Body=b"x" * 1024,
    )
    return response["UploadId"]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("abort_stale_uploads", *args, stdout=out)
    return out.getvalue()


def _open_uploads(prefix: str = "") -> set[str]:
    return {upload.key for upload in storage_s3.iter_multipart_uploads(prefix)}


def test_it_aborts_uploads_older_than_the_cutoff(s3):
    _start_upload(s3, "apikeys/pk_a/big.bin")
    _start_upload(s3, "users/7/other.bin")

    output = _run("--hours", "0")

    assert _open_uploads() == set()
    assert "Aborted 2 multipart upload(s)" in output


def test_uploads_newer_than_the_cutoff_are_kept(s3):
    # moto reports a fixed start time (in 2010), so "newer" needs a cutoff
    # further back than that.
    _start_upload(s3, "apikeys/pk_a/big.bin")

    output = _run("--hours", str(24 * 365 * 50))

    assert _open_uploads() == {"apikeys/pk_a/big.bin"}
    assert "Aborted 0 multipart upload(s)" in output


def test_dry_run_lists_without_aborting(s3):
    _start_upload(s3, "apikeys/pk_a/big.bin")

    output = _run("--hours", "0", "--dry-run")

    assert _open_uploads() == {"apikeys/pk_a/big.bin"}
    assert "Would abort apikeys/pk_a/big.bin" in output


def test_a_prefix_limits_what_is_aborted(s3):
    _start_upload(s3, "apikeys/pk_a/big.bin")
    _start_upload(s3, "apikeys/pk_ab/big.bin")

    _run("--hours", "0", "--prefix", "apikeys/pk_a/")

    assert _open_uploads() == {"apikeys/pk_ab/big.bin"}


def test_paging_reaches_every_upload(s3, monkeypatch):
    for number in range(3):
        _start_upload(s3, f"users/1/part-{number}.bin")

    listed = list(storage_s3.iter_multipart_uploads("users/1/"))

    assert sorted(upload.key for upload in listed) == [
        "users/1/part-0.bin",
        "users/1/part-1.bin",
        "users/1/part-2.bin",
    ]
    assert all(upload.initiated is not None for upload in listed)


def test_a_negative_cutoff_is_refused():
    with pytest.raises(CommandError):
        _run("--hours", "-1")


def test_an_unreachable_s3_is_a_clear_error(settings):
    settings.S3_ENDPOINT_URL = "http://127.0.0.1:9"

    with pytest.raises(CommandError, match="unavailable"):
        _run("--hours", "0")
