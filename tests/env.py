"""Loaded with ``-p tests.env`` before pytest-django reads the settings, so a
plain ``pytest`` works without exporting anything. Only defaults: a variable
already set (CI's DATABASE_URL, REDIS_URL…) wins."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tremma.settings")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-for-production-5b1f0c7e9a")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SITE_URL", "http://testserver")
# Payments: the demo gateway, asked for by name as production requires; the tests
# of the Stripe path switch the settings to the local Stripe-compatible server
# (conftest's ``stripe_settings``).
if not os.environ.get("STRIPE_SECRET_KEY"):
    os.environ.setdefault("PAYMENTS_DEMO", "true")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
# A connection per request in the test process: threads of the concurrency and
# async tests would otherwise keep theirs, and PostgreSQL refuses to drop a test
# database someone is still connected to. (Kept connections are Django's own
# code; the servers started by tests/support/servers.py run with the default.)
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("TASKS_EAGER", "true")
