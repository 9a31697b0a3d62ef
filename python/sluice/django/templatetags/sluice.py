"""`{% load sluice %}`: `{% sluice_css "name" %}` and `{% sluice_js "name" %}` (see bundles.py)."""

from django import template

from sluice.django.bundles import css_tag, js_tag

register = template.Library()


@register.simple_tag
def sluice_css(name):
    return css_tag(name)


@register.simple_tag
def sluice_js(name):
    return js_tag(name)
