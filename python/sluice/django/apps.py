"""The app's configuration: registers the system checks."""

from django.apps import AppConfig


class SluiceConfig(AppConfig):
    name = "sluice.django"
    # The last part of the module path, "django", would be a confusing label.
    label = "sluice"
    verbose_name = "sluice"

    def ready(self):
        from sluice.django import checks  # noqa: F401  (registers the checks)
