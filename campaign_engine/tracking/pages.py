"""The public pages behind a message's links: unsubscribe, preferences, browser copy, errors.

They are small inline templates, autoescaped, compiled once per process on first use.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import DictLoader, Environment

_LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{% block title %}{% endblock %} · {{ sender }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;
color:#222;line-height:1.5}
h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1.2rem;cursor:pointer}
fieldset{border:1px solid #ccc;margin:0 0 1rem;padding:.5rem 1rem}
label{display:block;margin:.3rem 0}.note{background:#eef6ee;padding:.5rem 1rem}
pre{white-space:pre-wrap;background:#f6f6f6;padding:1rem}
</style></head>
<body>{% block body %}{% endblock %}<p><small>{{ sender }}</small></p></body></html>
"""

_TEMPLATES = {
    "layout.html": _LAYOUT,
    "error.html": """{% extends "layout.html" %}{% block title %}{{ heading }}{% endblock %}
{% block body %}<h1>{{ heading }}</h1><p>{{ message }}</p>{% endblock %}""",
    "unsubscribe.html": """{% extends "layout.html" %}{% block title %}Unsubscribe{% endblock %}
{% block body %}<h1>Unsubscribe</h1>
<p>Stop receiving marketing {{ channel_words }} from {{ sender }}?</p>
<form method="post"><input type="hidden" name="confirm" value="yes">
<button type="submit">Unsubscribe</button></form>
<p><a href="{{ preferences_url }}">Choose what you receive instead</a></p>{% endblock %}""",
    "unsubscribed.html": """{% extends "layout.html" %}{% block title %}Unsubscribed{% endblock %}
{% block body %}<h1>You are unsubscribed</h1>
<p>You will no longer receive marketing {{ channel_words }} from {{ sender }}.
It can take a few minutes for messages already on their way to stop.</p>
<p><a href="{{ preferences_url }}">Manage your preferences</a></p>{% endblock %}""",
    "preferences.html": """{% extends "layout.html" %}{% block title %}Preferences{% endblock %}
{% block body %}<h1>Your preferences</h1>
{% if saved %}<p class="note">Your preferences are saved.</p>{% endif %}
<form method="post">
<fieldset><legend>Send me marketing by</legend>
{% for channel, on in channels.items() %}<label><input type="checkbox" name="channel"
 value="{{ channel }}"{% if on %} checked{% endif %}> {{ channel_names[channel] }}</label>
{% endfor %}</fieldset>
{% if topics %}<fieldset><legend>Topics I want to hear about</legend>
{% for topic, on in topics.items() %}<label><input type="checkbox" name="topic"
 value="{{ topic }}"{% if on %} checked{% endif %}>
 {{ topic.replace("_", " ").capitalize() }}</label>
{% endfor %}</fieldset>{% endif %}
<button type="submit">Save</button></form>{% endblock %}""",
    "text_message.html": """{% extends "layout.html" %}{% block title %}{{ subject or "Message" }}
{% endblock %}{% block body %}{% if subject %}<h1>{{ subject }}</h1>{% endif %}
<pre>{{ text }}</pre>{% endblock %}""",
}

CHANNEL_NAMES = {"email": "Email", "sms": "Text message (SMS)", "social": "Social media"}
CHANNEL_WORDS = {"email": "emails", "sms": "text messages", "social": "social messages"}


@cache
def _environment() -> Environment:
    return Environment(loader=DictLoader(_TEMPLATES), autoescape=True)


def render_page(name: str, sender: str, **context: Any) -> str:
    """Return one page's HTML; `sender` names who the reader hears from."""
    template = _environment().get_template(f"{name}.html")
    return template.render(sender=sender, channel_names=CHANNEL_NAMES, **context)


def channel_words(channel: str) -> str:
    """Return how a page names the messages of `channel` ("emails", "text messages")."""
    return CHANNEL_WORDS.get(channel, "messages")
