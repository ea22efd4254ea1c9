"""Message templates: the sandboxed template environment, rendering and starter templates."""

from templates.context import build_context, sample_context, sparse_context
from templates.links import RenderHooks
from templates.message import CompiledMessage, RenderedMessage, compile_message, render
from templates.problems import Problem, TemplateError
from templates.sms import SmsInfo, sms_segments
from templates.source import MessageSource
from templates.starters import StarterTemplate, starter_library, starter_templates
from templates.text import html_to_text
from templates.validation import validate

__all__ = [
    "CompiledMessage",
    "MessageSource",
    "Problem",
    "RenderHooks",
    "RenderedMessage",
    "SmsInfo",
    "StarterTemplate",
    "TemplateError",
    "build_context",
    "compile_message",
    "html_to_text",
    "render",
    "sample_context",
    "sms_segments",
    "sparse_context",
    "starter_library",
    "starter_templates",
    "validate",
]
