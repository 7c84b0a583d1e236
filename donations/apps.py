from django.apps import AppConfig


class DonationsConfig(AppConfig):
    name = "donations"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from donations import receivers  # noqa: F401  (answers accounts.signals)
        from donations.search import register_sqlite_functions

        # The SQLite search folds accents and case in SQL (PostgreSQL has its own text search).
        connection_created.connect(register_sqlite_functions, dispatch_uid="donations.search.sqlite")
