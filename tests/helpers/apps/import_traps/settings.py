"""Django-style settings: the analysis reads the module names in them; nothing here runs."""

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "loguru",
]
