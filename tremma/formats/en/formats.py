"""English as Trëmma's visitors in France read it: British dates (day first) and 24-hour
times, as the French pages show them, instead of Django's American "en" (11/30/2026, 2 p.m.)."""

from django.conf.locale.en_GB.formats import *  # noqa: F403  (Django's own British formats, then ours)

DATE_FORMAT = "j F Y"  # 2 March 2026
TIME_FORMAT = "H:i"  # 14:30
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
