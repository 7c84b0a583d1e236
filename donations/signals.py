"""What donations tells the rooms above it, without importing them.

``item_listed(item=...)``: an item has just been put on sale for the first time
(not back from a hold), inside the transaction that lists it; qr answers by
giving it its printed short code, so that catalogue reads never write."""

from django.dispatch import Signal

item_listed = Signal()
