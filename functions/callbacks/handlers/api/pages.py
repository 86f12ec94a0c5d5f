"""What a browser's own form post needs: content negotiation and the small error page."""

from __future__ import annotations

from html import escape
from urllib.parse import urlsplit

from callbacks.core.office import OFFICE_PHONE, OFFICE_PHONE_E164
from callbacks.models.api import FieldProblem
from callbacks.models.form import page_path

# How the error page names each field.
FIELD_LABELS = {
    "name": "Name",
    "phone": "Phone",
    "email": "Email",
    "best_time": "Best time to call",
    "interest": "Interested in",
    "message": "Message",
    "consent": "Consent",
    "source_url": "Page",
    "website": "Website",
    "idempotency_key": "Request key",
    "body": "Request",
}


def _quality(accept: str, media_type: str) -> float:
    """The q-value ``accept`` gives ``media_type``, by its most specific matching range."""
    main_type = media_type.split("/", 1)[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        range_, *params = (part.strip() for part in item.split(";"))
        range_ = range_.lower()
        if range_ == media_type:
            specificity = 2
        elif range_ == f"{main_type}/*":
            specificity = 1
        elif range_ == "*/*":
            specificity = 0
        else:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = max(best, (specificity, quality))
    return best[1]


def prefers_html(accept: str | None) -> bool:
    """True when the client prefers an HTML page to JSON, as a browser's own form post does.

    A browser submitting a form sends ``text/html,...,*/*;q=0.8``; ``fetch`` sends ``*/*``; API
    clients send ``application/json`` or nothing. Only the first gets pages.
    """
    if not accept:
        return False
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def _origin_of(url: str | None) -> str | None:
    if not url or not url.startswith(("https://", "http://")):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else None


def form_back_link(
    origin: str | None,
    referer: str | None,
    form_page: str | None,
    allowed_origins: tuple[str, ...],
    own_origin: str | None = None,
) -> str | None:
    """Where "Go back to the form" leads after a plain form post, or None for the Back button.

    A cross-origin post's ``Referer`` holds only the origin (browsers' default policy), so the
    page's path comes from the form itself (``form_page``); a ``Referer`` with a path serves when
    the form has none, and so does a same-origin one (``own_origin``, the API's), which is whole.
    The origin comes from ``Origin`` (``null`` counts as none), else from the ``Referer``, and
    must be an allowed one: the link never leads off the practice's sites.
    """
    site = origin if origin and origin != "null" else _origin_of(referer)
    allowed = {allowed_origin.lower() for allowed_origin in allowed_origins}
    if not site or site.lower() not in allowed:
        return None
    path = page_path(form_page)
    if path is None and referer and _origin_of(referer) == site:
        referred = page_path(urlsplit(referer).path or "/")
        whole = own_origin is not None and site.lower() == own_origin.lower()
        path = referred if referred and (referred != "/" or whole) else None
    return site + path if path else None


_STYLE = """body { font: 1.0625rem/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 36rem;
       padding: 1.5rem; color: #1f2933; }
h1 { font-size: 1.5rem; }
li { margin: .5rem 0; }
a { color: #0b5cab; font-weight: 600; }
a:focus-visible { outline: 3px solid #0b5cab; outline-offset: 2px; }"""


def _page(title: str, body: str) -> str:
    call = f'<p>You can also call our office at <a href="tel:{OFFICE_PHONE_E164}">{OFFICE_PHONE}</a>.</p>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
{_STYLE}
</style>
</head>
<body>
<main>
{body}
{call}
</main>
</body>
</html>
"""


def error_page(problems: list[FieldProblem], back_url: str | None) -> str:
    """A small, accessible page that lists each problem and links back to the form."""
    items = "\n".join(
        f"<li><strong>{escape(FIELD_LABELS.get(problem.field, problem.field))}:</strong> "
        f"{escape(problem.message)}</li>"
        for problem in problems
    )
    back = (
        f'<a href="{escape(back_url, quote=True)}">Go back to the form</a>'
        if back_url
        else "Use your browser's Back button to return to the form."
    )
    title = "Please check your call-back request"
    return _page(
        title,
        f"""<h1 id="problems-title">{title}</h1>
<p>We could not send your request yet. Please go back and correct:</p>
<ul aria-labelledby="problems-title">
{items}
</ul>
<p>{back}</p>""",
    )


def refusal_page(message: str) -> str:
    """The page a browser's own form post gets when the request was refused for another reason."""
    title = "Your call-back request was not sent"
    return _page(
        title,
        f"""<h1>{title}</h1>
<p>{escape(message)}</p>
<p>Use your browser's Back button to return to the form.</p>""",
    )
