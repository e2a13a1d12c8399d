"""
"Approve selected" / "Reject selected" for request admins (tier and API-key
requests): an intermediate page asks for the reviewer's comment (and, where
the admin offers it, narrower figures), then every selected request goes
through the same decide service the API uses.

A request decided meanwhile, by another operator or another tab, is reported
in a message and skipped; nothing is decided twice.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from pockity.exceptions import PockityError
from tiers.models import RequestStatus
from tiers.services import parse_id

DECIDE_TEMPLATE = "admin/requests/decide.html"
CHANGE_FORM_TEMPLATE = "admin/requests/change_form.html"


class CommentForm(forms.Form):
    comment = forms.CharField(
        label="Reviewer comment",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Sent to the user in the decision e-mail.",
    )


class DecisionAdminMixin:
    """Adds the two decision actions to a ModelAdmin of requests.

    Subclasses implement `decide_one(request, obj, approved, form)` and may
    override `get_decision_form_class(request, queryset, approved)`.
    """

    actions = ["approve_selected", "reject_selected"]
    # Adds "Approve…" and "Reject…" buttons to a pending request's page.
    change_form_template = CHANGE_FORM_TEMPLATE

    def get_decision_form_class(self, request, queryset, approved):
        return CommentForm

    def get_decision_form_initial(self, queryset, approved) -> dict:
        return {}

    def decide_one(self, request, obj, approved: bool, form) -> None:
        raise NotImplementedError

    def has_change_permission(self, request, obj=None):
        # A request is the user's record: never edited by hand, only decided
        # (by the actions, which need the model-level permission). Its page
        # is view-only, with Approve/Reject buttons while it is pending.
        if obj is not None:
            return False
        return super().has_change_permission(request, obj)

    def has_add_permission(self, request):
        # Requests come from users through the API.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "<path:object_id>/decide/<str:verdict>/",
                self.admin_site.admin_view(self.decide_view),
                name=f"{opts.app_label}_{opts.model_name}_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request, object_id, verdict):
        """One request's decision page, reached from its change page."""
        if verdict not in ("approve", "reject"):
            raise Http404
        if not self.has_change_permission(request):
            raise PermissionDenied
        queryset = self.get_queryset(request).filter(pk=parse_id(object_id) or 0)
        if not queryset.exists():
            raise Http404

        response = self._decide(request, queryset, approved=verdict == "approve")
        if response is not None:
            return response
        opts = self.model._meta
        return HttpResponseRedirect(
            reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        )

    @admin.action(description="Approve selected requests", permissions=["change"])
    def approve_selected(self, request, queryset):
        return self._decide(request, queryset, approved=True)

    @admin.action(description="Reject selected requests", permissions=["change"])
    def reject_selected(self, request, queryset):
        return self._decide(request, queryset, approved=False)

    def _decide(self, request, queryset, *, approved: bool):
        action = "approve_selected" if approved else "reject_selected"
        selected = list(queryset.order_by("pk"))
        form_class = self.get_decision_form_class(request, queryset, approved)
        # The initial values are given on the confirming POST as well, so
        # that forms can tell what the operator changed.
        initial = self.get_decision_form_initial(queryset, approved)

        if request.POST.get("confirm") == "yes":
            form = form_class(request.POST, initial=initial)
            if form.is_valid():
                self._apply(request, selected, approved, form)
                return None
        else:
            form = form_class(initial=initial)

        opts = self.model._meta
        noun = opts.verbose_name if len(selected) == 1 else opts.verbose_name_plural
        context = {
            **self.admin_site.each_context(request),
            "title": f"{'Approve' if approved else 'Reject'} {len(selected)} {noun}",
            "opts": opts,
            "approved": approved,
            "action": action,
            "form": form,
            "pending": [obj for obj in selected if obj.status == RequestStatus.PENDING],
            "decided": [obj for obj in selected if obj.status != RequestStatus.PENDING],
            "selected": selected,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, DECIDE_TEMPLATE, context)

    def _apply(self, request, selected, approved: bool, form) -> None:
        done = 0
        for obj in selected:
            try:
                self.decide_one(request, obj, approved, form)
            except PockityError as exc:
                self.message_user(
                    request, f"Request #{obj.pk}: {exc.message}", messages.ERROR
                )
                continue
            done += 1

        if done:
            verb = "approved" if approved else "rejected"
            self.message_user(
                request,
                f"{done} request{'s' if done != 1 else ''} {verb}.",
                messages.SUCCESS,
            )
