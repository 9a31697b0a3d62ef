"""Settings for the sluice example site: a small bedrock-shaped Django project.

Static files live in media/ (STATICFILES_DIRS) and in the `pages` app; they are
collected into static/ (STATIC_ROOT) by `collectstatic` or by `sluice sync`.
A few environment variables switch what tests and demos need:

    EXAMPLE_DEBUG=0             DEBUG off (default on)
    EXAMPLE_PIPELINE_ENABLED=1  pipeline renders bundles instead of source files
    EXAMPLE_PLAIN_STORAGE=1     StaticFilesStorage instead of PipelineManifestStorage
                                (collectstatic then copies files and does nothing else)
    EXAMPLE_SASS_BINARY=...     the `sass` command pipeline's SASSCompiler runs (default
                                `true`, a no-op: sluice compiles the SCSS; set it to `sass`
                                for pipeline's own collectstatic with the Dart Sass binary)

With the sluice package installed (`pip install` from the repository, as `scripts/example`
does), its Django app `sluice.django` is installed too: system checks, `{% sluice_css %}` /
`{% sluice_js %}` and `manage.py sluice`.
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name, default):
    return os.environ.get(name, "1" if default else "0").lower() in ("1", "true", "yes", "on")


SECRET_KEY = "sluice-example-not-secret"
DEBUG = env_flag("EXAMPLE_DEBUG", True)
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "pipeline",
    "pages",
]
# The site also runs without the sluice package (sluice's engine tests use a virtualenv
# with only the requirements.txt packages).
if importlib.util.find_spec("sluice") is not None:
    INSTALLED_APPS.append("sluice.django")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "examplesite.urls"
WSGI_APPLICATION = "examplesite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
            ],
        },
    },
]

# No database: the site only renders templates.
DATABASES = {}

USE_TZ = True

# ---------------------------------------------------------------- static files

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "media"]
STATIC_ROOT = BASE_DIR / "static"

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "pipeline.finders.PipelineFinder",
]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if env_flag("EXAMPLE_PLAIN_STORAGE", False)
            else "pipeline.storage.PipelineManifestStorage"
        ),
    },
}

PIPELINE = {
    "PIPELINE_ENABLED": env_flag("EXAMPLE_PIPELINE_ENABLED", False),
    # Files reach STATIC_ROOT through `sluice sync` (or collectstatic), not
    # through pipeline's per-request collector.
    "PIPELINE_COLLECTOR_ENABLED": False,
    "CSS_COMPRESSOR": None,
    "JS_COMPRESSOR": None,
    # Runs for .scss sources of a bundle: when a template renders the bundle with
    # PIPELINE_ENABLED off, and when collectstatic packs bundles with
    # PipelineManifestStorage. Plain-storage collectstatic never runs it. sluice reads
    # COMPILERS to know what to compile, and compiles it itself: pipeline's compiler is a
    # no-op here (`true`) so that it leaves sluice's output alone, as sluice's README advises.
    "COMPILERS": ["pipeline.compilers.sass.SASSCompiler"],
    "SASS_BINARY": os.environ.get("EXAMPLE_SASS_BINARY", "true"),
    "STYLESHEETS": {
        "common": {
            "source_filenames": ("css/base/*.css",),
            "output_filename": "css/common-bundle.css",
        },
        "home": {
            "source_filenames": ("css/home/*.css", "pages/css/pages.css"),
            "output_filename": "css/home-bundle.css",
        },
        "about": {
            "source_filenames": ("css/about/*.css", "css/mission/*.css"),
            "output_filename": "css/about-bundle.css",
            "extra_context": {"media": "screen"},
        },
        "site-sass": {
            "source_filenames": ("css/sass/site.scss",),
            "output_filename": "css/site-sass-bundle.css",
        },
    },
    "JAVASCRIPT": {
        "common": {
            "source_filenames": ("js/libs/mozilla-*.js", "js/libs/site.js", "js/base/*.js"),
            "output_filename": "js/common-bundle.js",
        },
        "home": {
            "source_filenames": ("js/home/*.js", "pages/js/pages.js"),
            "output_filename": "js/home-bundle.js",
        },
        "about": {
            "source_filenames": ("js/about/*.js",),
            "output_filename": "js/about-bundle.js",
            "extra_context": {"defer": True},
        },
    },
}
