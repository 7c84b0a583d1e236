from django.apps import AppConfig


class CheckoutConfig(AppConfig):
    name = "checkout"

    def ready(self) -> None:
        # Django's place for wiring, once every app is loaded: the payments adapter hands every
        # payment event it records to checkout (payments.events), and tells it when an
        # organisation can receive transfers (payments.signals, answered in checkout.receivers).
        from checkout import receivers  # noqa: F401
        from checkout.services.events import payment_event_apply
        from payments.events import receiver_set

        receiver_set(payment_event_apply)
        # The same for the carrier's tracking events (delivery.events).
        from checkout.services.parcels import tracking_apply
        from delivery.events import receiver_set as tracking_receiver_set

        tracking_receiver_set(tracking_apply)
