"""Jinja2: the globals `css_bundle("name")` and `js_bundle("name")` (bedrock's names).

With Django's Jinja2 backend add the extension:
    TEMPLATES = [{"BACKEND": "django.template.backends.jinja2.Jinja2", ...,
                  "OPTIONS": {"extensions": ["sluice.django.jinja2.bundles"]}}]
or put `css_bundle`/`js_bundle` from this module into an environment's globals yourself.
"""

from jinja2.ext import Extension

from sluice.django.bundles import css_tag, js_tag

css_bundle = css_tag
js_bundle = js_tag


class SluiceBundles(Extension):
    """Adds `css_bundle` and `js_bundle` to the environment's globals."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.globals.update(css_bundle=css_bundle, js_bundle=js_bundle)


bundles = SluiceBundles
