"""
Namespaces and usage snapshots in the Django admin.

Operators see each namespace's usage against its limits, a chart of its
usage over time (an SVG drawn here on the server from UsageSnapshot rows: no
JavaScript, nothing fetched from elsewhere) and can resync the counters from
S3. Counters are never edited by hand: only uploads, deletes and a resync
move them, so every page here is read-only.

Other admin pages link to a namespace with
`reverse("admin:storage_namespace_change", args=[namespace.pk])`.
"""

from __future__ import annotations

import logging
from datetime import date

from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from pockity.exceptions import PockityError
from storage.models import Namespace, UsageSnapshot
from storage.quota import NamespaceLimits
from storage.services import limits_for, usage_percent

logger = logging.getLogger(__name__)

# How much history the detail page draws.
CHART_MAX_POINTS = 180
CHART_WIDTH = 640
CHART_HEIGHT = 160
CHART_MARGIN = {"left": 70, "right": 12, "top": 14, "bottom": 28}


def _percent(used: int, limit: int | None) -> str:
    share = usage_percent(used, limit)
    return "unlimited" if share is None else f"{share:.1f}%"


def _admin_link(url_name: str, pk, text: str):
    try:
        url = reverse(url_name, args=[pk])
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)


# --- the usage chart -------------------------------------------------------------


def _series_svg(
    *,
    title: str,
    days: list[date],
    values: list[int],
    limit: int | None,
    label,
) -> str:
    """One line chart as an SVG element: usage per snapshot, the limit dashed.

    Every text placed in it is escaped; the numbers are computed here.
    """
    left, right = CHART_MARGIN["left"], CHART_MARGIN["right"]
    top, bottom = CHART_MARGIN["top"], CHART_MARGIN["bottom"]
    plot_width = CHART_WIDTH - left - right
    plot_height = CHART_HEIGHT - top - bottom
    # The limit stays in view, so the line shows how close usage is to it.
    ceiling = max([*values, limit or 0, 1])

    def x(index: int) -> float:
        if len(values) == 1:
            return left + plot_width / 2
        return left + plot_width * index / (len(values) - 1)

    def y(value: int) -> float:
        return top + plot_height * (1 - value / ceiling)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="2.5"><title>{}: {}</title></circle>',
        (
            (f"{x(i):.1f}", f"{y(v):.1f}", day.isoformat(), label(v))
            for i, (day, v) in enumerate(zip(days, values, strict=True))
        ),
    )
    limit_line = (
        format_html(
            '<line class="limit" x1="{}" y1="{}" x2="{}" y2="{}" '
            'stroke="#ba2121" stroke-dasharray="4 3"/>'
            '<text x="{}" y="{}" font-size="10" fill="#ba2121" '
            'text-anchor="end">limit {}</text>',
            left,
            f"{y(limit):.1f}",
            left + plot_width,
            f"{y(limit):.1f}",
            left + plot_width,
            f"{y(limit) - 3:.1f}",
            label(limit),
        )
        if limit is not None
        else ""
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" role="img" class="usage-chart" '
        'width="{w}" height="{h}" viewBox="0 0 {w} {h}" aria-label="{title}">'
        "<title>{title}</title>"
        '<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
        'stroke="#ccc"/>'
        '<text x="{tx}" y="{ty_max}" font-size="10" text-anchor="end">{max}</text>'
        '<text x="{tx}" y="{ty_min}" font-size="10" text-anchor="end">0</text>'
        '<text x="{left}" y="{ty_dates}" font-size="10">{first}</text>'
        '<text x="{right_edge}" y="{ty_dates}" font-size="10" '
        'text-anchor="end">{last}</text>'
        "{limit_line}"
        '<polyline class="series" fill="none" stroke="#417690" stroke-width="2" '
        'points="{points}"/>'
        '<g fill="#417690">{dots}</g>'
        "</svg>",
        w=CHART_WIDTH,
        h=CHART_HEIGHT,
        title=title,
        left=left,
        top=top,
        pw=plot_width,
        ph=plot_height,
        tx=left - 6,
        ty_max=top + 10,
        ty_min=top + plot_height,
        ty_dates=CHART_HEIGHT - 8,
        max=label(ceiling),
        first=days[0].isoformat(),
        last=days[-1].isoformat(),
        right_edge=left + plot_width,
        limit_line=limit_line,
        points=points,
        dots=dots,
    )


def usage_chart_html(namespace: Namespace, limits: NamespaceLimits) -> str:
    """Charts of bytes and objects over the namespace's recent snapshots."""
    snapshots = list(
        UsageSnapshot.objects.filter(namespace=namespace)
        .order_by("-period")
        .values("period", "bytes_used", "object_count")[:CHART_MAX_POINTS]
    )
    if not snapshots:
        return format_html(
            "<p>No usage snapshots yet (<code>{}</code> takes one per namespace "
            "and period).</p>",
            "manage.py snapshot_usage",
        )
    snapshots.reverse()
    days = [row["period"] for row in snapshots]
    return format_html(
        "{}<br>{}",
        _series_svg(
            title="Storage used",
            days=days,
            values=[row["bytes_used"] for row in snapshots],
            limit=limits.storage_bytes,
            label=filesizeformat,
        ),
        _series_svg(
            title="Objects stored",
            days=days,
            values=[row["object_count"] for row in snapshots],
            limit=limits.objects,
            label=lambda value: f"{value:,}",
        ),
    )


# --- admin classes ---------------------------------------------------------------


@admin.register(Namespace)
class NamespaceAdmin(admin.ModelAdmin):
    list_display = (
        "prefix",
        "kind",
        "owner",
        "bytes_display",
        "bytes_percent",
        "object_count",
        "objects_display",
        "objects_percent",
        "last_resynced_at",
    )
    list_filter = ("kind", "last_resynced_at")
    search_fields = (
        "prefix",
        "label",
        "user__email",
        "api_key__access_key_id",
        "api_key__owner__email",
    )
    list_select_related = ("user__tier", "api_key__owner__tier", "api_key__tier")
    ordering = ("prefix",)
    actions = ["resync_usage"]
    fieldsets = (
        (None, {"fields": ("prefix", "kind", "owner", "label", "created_at")}),
        (
            "Usage",
            {
                "fields": (
                    "bytes_display",
                    "bytes_percent",
                    "object_count",
                    "objects_display",
                    "objects_percent",
                    "last_resynced_at",
                    "updated_at",
                )
            },
        ),
        ("Usage over time", {"fields": ("usage_chart",)}),
    )
    readonly_fields = (
        "prefix",
        "kind",
        "owner",
        "label",
        "created_at",
        "bytes_display",
        "bytes_percent",
        "object_count",
        "objects_display",
        "objects_percent",
        "last_resynced_at",
        "updated_at",
        "usage_chart",
    )

    def _limits(self, obj: Namespace) -> NamespaceLimits:
        # The rows list_select_related loaded: no query per namespace.
        return limits_for(
            api_key=obj.api_key if obj.api_key_id else None,
            user=obj.user if obj.user_id else None,
        )

    @admin.display(description="owner")
    def owner(self, obj: Namespace):
        if obj.api_key_id:
            key = obj.api_key
            return format_html(
                "{} of {}",
                _admin_link("admin:apikeys_apikey_change", key.pk, key.access_key_id),
                _admin_link(
                    "admin:accounts_user_change", key.owner_id, key.owner.email
                ),
            )
        if obj.user_id:
            return _admin_link(
                "admin:accounts_user_change", obj.user_id, obj.user.email
            )
        return obj.label or "(deleted)"

    @admin.display(description="storage used / limit", ordering="bytes_used")
    def bytes_display(self, obj: Namespace):
        limit = self._limits(obj).storage_bytes
        limit_text = "unlimited" if limit is None else filesizeformat(limit)
        return f"{filesizeformat(obj.bytes_used)} / {limit_text}"

    @admin.display(description="storage %")
    def bytes_percent(self, obj: Namespace):
        return _percent(obj.bytes_used, self._limits(obj).storage_bytes)

    @admin.display(description="object limit")
    def objects_display(self, obj: Namespace):
        limit = self._limits(obj).objects
        return "unlimited" if limit is None else f"{limit:,}"

    @admin.display(description="objects %")
    def objects_percent(self, obj: Namespace):
        return _percent(obj.object_count, self._limits(obj).objects)

    @admin.display(description="usage chart")
    def usage_chart(self, obj: Namespace):
        from storage.services import namespace_limits

        return usage_chart_html(obj, namespace_limits(obj))

    # Namespaces are provisioned by the services and their counters move only
    # through uploads, deletes and resyncs: the pages are for reading.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_resync_permission(self, request):
        return request.user.has_perm("storage.change_namespace")

    @admin.action(description="Resync usage from S3", permissions=["resync"])
    def resync_usage(self, request, queryset):
        from storage.resync import usage_resync

        fixed = unchanged = failed = 0
        for namespace in queryset.order_by("pk"):
            try:
                result = usage_resync(
                    namespace=namespace, dry_run=False, actor=request.user
                )
            except PockityError as exc:
                failed += 1
                logger.warning(
                    "Admin resync failed namespace=%s code=%s", namespace.pk, exc.code
                )
                continue
            if result.changed:
                fixed += 1
            else:
                unchanged += 1

        self.message_user(
            request,
            f"Resynced {fixed + unchanged} namespace(s): {fixed} corrected, "
            f"{unchanged} already right.",
            messages.SUCCESS,
        )
        if failed:
            self.message_user(
                request,
                f"{failed} namespace(s) could not be resynced; see the log.",
                messages.ERROR,
            )


@admin.register(UsageSnapshot)
class UsageSnapshotAdmin(admin.ModelAdmin):
    list_display = (
        "namespace",
        "period",
        "bytes_used_display",
        "object_count",
        "storage_bytes_limit",
        "object_limit",
        "taken_at",
    )
    list_filter = ("period",)
    search_fields = ("namespace__prefix",)
    date_hierarchy = "period"
    list_select_related = ("namespace",)
    ordering = ("-period", "namespace")

    @admin.display(description="storage used", ordering="bytes_used")
    def bytes_used_display(self, obj: UsageSnapshot):
        return filesizeformat(obj.bytes_used)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
