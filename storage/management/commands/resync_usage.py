"""
`manage.py resync_usage`: set the usage counters to what S3 holds.

    manage.py resync_usage                     # every namespace
    manage.py resync_usage --user ann@x.org    # a user's namespace and keys
    manage.py resync_usage --namespace apikeys/pk_abc/ --dry-run

Folder markers (zero-byte keys ending in "/") are never counted; see
storage.resync. Safe to run while the server takes uploads (PostgreSQL).
"""

from __future__ import annotations

import shutil
import sys

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from pockity.exceptions import StorageUnavailable
from storage.models import Namespace
from storage.resync import ResyncResult, usage_resync

MAX_ID = 2**63 - 1


class Command(BaseCommand):
    help = (
        "Recompute namespaces' bytes and object counts from S3 (paged listing) "
        "and report the drift fixed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Report the drift without writing anything.",
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument(
            "--namespace",
            metavar="PREFIX",
            help="Only this namespace, e.g. users/1/ or apikeys/pk_…/.",
        )
        which.add_argument(
            "--user",
            metavar="EMAIL_OR_ID",
            help="The user's own namespace and those of all the user's API keys.",
        )
        parser.add_argument(
            "--no-progress",
            action="store_true",
            help="Plain lines even on a terminal.",
        )

    def handle(self, *args, dry_run, namespace, user, no_progress, **options):
        queryset = self._select(namespace=namespace, user=user)
        pks = list(queryset.order_by("prefix").values_list("pk", flat=True))
        verbosity = options["verbosity"]
        use_bar = not no_progress and verbosity > 0 and sys.stderr.isatty()

        # Some pseudo-terminals report a 0x0 size, where tqdm draws nothing;
        # shutil falls back to 80x24 then.
        size = shutil.get_terminal_size()
        bar = tqdm(
            total=len(pks),
            unit="ns",
            disable=not use_bar,
            file=sys.stderr,
            ncols=size.columns,
            nrows=size.lines,
        )
        say = bar.write if use_bar else self.stdout.write
        drifted = 0
        done = 0
        try:
            for pk in pks:
                current = Namespace.objects.filter(pk=pk).first()
                if current is None:
                    continue  # deleted since the selection
                bar.set_description_str(current.prefix)
                bar.set_postfix_str("")
                result = usage_resync(
                    namespace=current,
                    dry_run=dry_run,
                    progress=lambda seen: bar.set_postfix_str(f"{seen} keys"),
                )
                done += 1
                bar.update(1)
                if result.changed:
                    drifted += 1
                    say(self._drift_line(result))
                elif verbosity > 1 or (verbosity == 1 and not use_bar):
                    say(self._unchanged_line(result))
                if result.hidden_bytes:
                    say(
                        f"{current.prefix}: folder markers (keys ending in '/') "
                        f"hold {result.hidden_bytes} bytes, which are not counted"
                    )
        except StorageUnavailable as exc:
            raise CommandError(
                f"S3 is unavailable ({exc.message}) after {done} of {len(pks)} "
                "namespaces; the rest keep their counters."
            ) from exc
        finally:
            bar.close()

        if verbosity > 0:
            verb = "would be fixed (dry run)" if dry_run else "fixed"
            self.stdout.write(
                f"Resynced {done} namespace(s); drift {verb} in {drifted}.",
                style_func=self.style.SUCCESS,
            )

    def _select(self, *, namespace: str | None, user: str | None):
        if namespace is not None:
            prefix = namespace if namespace.endswith("/") else f"{namespace}/"
            queryset = Namespace.objects.filter(prefix=prefix)
            if not queryset.exists():
                raise CommandError(f"No namespace with the prefix {prefix!r}.")
            return queryset

        if user is not None:
            owner = self._find_user(user)
            return Namespace.objects.filter(Q(user=owner) | Q(api_key__owner=owner))

        return Namespace.objects.all()

    def _find_user(self, value: str):
        User = get_user_model()
        value = value.strip()
        if value.isdigit():
            found = (
                User.objects.filter(pk=int(value)).first()
                if int(value) <= MAX_ID
                else None
            )
        else:
            found = User.objects.filter(email__iexact=value).first()
        if found is None:
            raise CommandError(f"No user with the e-mail address or id {value!r}.")
        return found

    def _drift_line(self, result: ResyncResult) -> str:
        suffix = " (dry run, not written)" if result.dry_run else ""
        return (
            f"{result.namespace.prefix}: bytes {result.before.bytes_used} -> "
            f"{result.after.bytes_used}, objects {result.before.objects} -> "
            f"{result.after.objects}{suffix}"
        )

    def _unchanged_line(self, result: ResyncResult) -> str:
        return (
            f"{result.namespace.prefix}: in step ({result.after.bytes_used} bytes, "
            f"{result.after.objects} objects)"
        )
