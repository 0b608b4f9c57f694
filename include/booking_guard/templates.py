"""Message templates (``templates/*.txt``, ``string.Template`` syntax), shipped as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template


@cache
def template(name: str) -> Template:
    """The template ``templates/<name>``; values are substituted, never evaluated."""
    text = resources.files("booking_guard").joinpath("templates", name).read_text("utf-8")
    return Template(text.strip())


def render(name: str, **values: object) -> str:
    return template(name).substitute(values)
