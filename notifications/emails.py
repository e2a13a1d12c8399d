"""
Templated e-mail: one subject and body per message, rendered from
`templates/<app>/<name>_subject.txt`, `_body.txt` and (when present)
`_body.html`.

Callers send from `transaction.on_commit` so that no mail leaves for a change
that rolled back. A failing mail server is logged and swallowed here: a
decision already committed must not turn into a 500 because SMTP is down.
Templates must never receive a secret; the e-mails tell users to read secrets
through the API instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template, render_to_string

logger = logging.getLogger(__name__)


def staff_recipients() -> list[str]:
    """POCKITY_STAFF_EMAILS when set, else every active staff user's address."""
    if settings.POCKITY_STAFF_EMAILS:
        return list(settings.POCKITY_STAFF_EMAILS)
    return list(
        get_user_model()
        .objects.filter(is_staff=True, is_active=True)
        .exclude(email="")
        .order_by("id")
        .values_list("email", flat=True)
    )


def _render_text(name: str, context: dict) -> str:
    """Render a plain-text template without HTML escaping.

    Autoescaping would turn "R&D <ops>" into "R&amp;D &lt;ops&gt;" in a
    subject or text body; only the .html part is escaped.
    """
    template = get_template(name)
    # The Django backend's own Template takes a Context, which can switch
    # autoescaping off for this one render.
    return template.template.render(Context(context, autoescape=False))


def send_templated_email(
    *, to: Iterable[str], template: str, context: dict | None = None
) -> bool:
    """Render `template` (e.g. "tiers/tier_request_decided") and send it.

    Side effect: one e-mail through Django's configured backend. Returns
    whether a message was handed to the backend; nothing is sent to an empty
    recipient list. Delivery errors are logged, not raised.
    """
    recipients = [address for address in to if address]
    if not recipients:
        return False

    context = {**(context or {}), "site_name": "Pockity"}
    # A subject must be one line, whatever the template's whitespace.
    subject = " ".join(_render_text(f"{template}_subject.txt", context).split())
    body = _render_text(f"{template}_body.txt", context)
    try:
        html = render_to_string(f"{template}_body.html", context)
    except TemplateDoesNotExist:
        html = None

    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    if html:
        message.attach_alternative(html, "text/html")

    try:
        message.send()
    except OSError:
        logger.exception(
            "E-mail not sent template=%s recipients=%d", template, len(recipients)
        )
        return False

    logger.info("E-mail sent template=%s recipients=%d", template, len(recipients))
    return True


def send_staff_email(*, template: str, context: dict | None = None) -> bool:
    """Send `template` to the operators (see `staff_recipients`)."""
    return send_templated_email(
        to=staff_recipients(), template=template, context=context
    )
