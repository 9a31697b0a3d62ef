"""sluice's Django app: add "sluice.django" to INSTALLED_APPS.

- system checks (`manage.py check`) for settings that fight sluice (`checks.py`);
- `{% load sluice %}{% sluice_css "name" %}` / `{% sluice_js "name" %}` template tags and the
  Jinja2 globals `css_bundle("name")` / `js_bundle("name")` (`jinja2.py`), with subresource
  integrity after `sluice build` (`bundles.py`);
- `manage.py sluice ARGS`, which runs the sluice binary installed with this package.
"""
