"""Pages for donors ("my objects", "post an object"), managers (the review queue,
the hand-over of a sold object) and buyers (the claim page with its QR code)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.models import User
from donations import services
from donations.forms import ItemForm, RejectForm, ReviewForm
from donations.models import Item, ItemStatus, parcel_allowed
from donations.selectors import (
    items_managed_by,
    items_owned_by,
    items_to_review,
)
from kernel.errors import DomainError
from kernel.money import cents_to_euros
from kernel.uploads import TooManyUploads, upload_count


@login_required
@require_safe
def my_items(request: HttpRequest) -> HttpResponse:
    items = items_owned_by(request.user).order_by("-created_at", "-id")
    return render(
        request,
        "donations/my_items.html",
        {"items": items, "withdrawable": services.OWNER_WITHDRAWABLE_STATUSES},
    )


@login_required
@require_http_methods(["GET", "POST"])
def post_item(request: HttpRequest) -> HttpResponse:
    form = ItemForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        try:
            upload_count(user_id=request.user.pk, images=len(request.FILES.getlist("photos")))
        except TooManyUploads as error:
            # Nothing decoded: the form comes back with what was typed, without the photos.
            messages.error(request, str(error.detail))
            form = ItemForm(initial=request.POST.dict())
            return render(request, "donations/post_item.html", {"form": form}, status=error.status_code)
    if request.method == "POST" and form.is_valid():
        try:
            services.item_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, str(error.detail))
        else:
            messages.success(request, _("Merci ! Votre objet est envoyé en relecture."))
            return redirect("donations:my_items")
    return render(request, "donations/post_item.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_POST
def withdraw_item(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(items_owned_by(request.user), pk=pk)
    try:
        services.item_withdraw(item=item, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, str(error.detail))
    else:
        messages.success(request, _("L'objet « %(title)s » est retiré.") % {"title": item.title})
    return redirect("donations:my_items")


def _ships_by_default(item: Item) -> bool:
    """The organisation ships its own stock when the object may travel (its people are trained
    for it): the review form offers parcels checked for an object that will stand there."""
    return not services.item_stays_with_giver(item) and parcel_allowed(
        category=item.category, weight_grams=item.weight_grams
    )


GIFT_STEPS = {"accept": services.item_accept, "receive": services.item_receive}


@login_required
@require_safe
def review_queue(request: HttpRequest) -> HttpResponse:
    entries = [
        (
            item,
            ReviewForm(
                prefix=f"item{item.pk}",
                item=item,
                initial={
                    "title": item.title,
                    "description": item.description,
                    "category": item.category,
                    "price_cents": cents_to_euros(item.price_cents or 0),
                    "weight_grams": item.weight_grams,
                    # The giver's choice; an object dropped at the organisation ships as its stock does.
                    "ships": item.ships or _ships_by_default(item),
                },
            ),
            RejectForm(prefix=f"item{item.pk}"),
        )
        for item in items_to_review(request.user)[:50]
    ]
    to_receive = items_managed_by(request.user).filter(status=ItemStatus.ACCEPTED).select_related("donor", "owner")[:50]
    return render(request, "donations/review_queue.html", {"entries": entries, "to_receive": to_receive})


@login_required
@require_POST
def review_item(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    item = get_object_or_404(items_managed_by(user), pk=pk)
    if decision in GIFT_STEPS:
        try:
            GIFT_STEPS[decision](item=item, actor=user)
            messages.success(request, _("« %(title)s » : c'est noté.") % {"title": item.title})
        except DomainError as error:
            messages.error(request, str(error.detail))
        return redirect("donations:review_queue")
    form: ReviewForm | RejectForm
    form = (
        ReviewForm(request.POST, prefix=f"item{pk}", item=item)
        if decision == "approve"
        else RejectForm(request.POST, prefix=f"item{pk}")
    )
    if not form.is_valid():
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, f"{item.title} : {message}")
        return redirect("donations:review_queue")
    try:
        if decision == "approve":
            item = services.item_approve(item=item, actor=user, changes=form.cleaned_data)
            if item.status == ItemStatus.ACCEPTED:
                messages.success(
                    request,
                    _("« %(title)s » est accepté : il sera mis en vente quand le donateur l'aura déposé.")
                    % {"title": form.cleaned_data["title"]},
                )
            else:
                messages.success(request, _("« %(title)s » est en vente.") % {"title": form.cleaned_data["title"]})
        else:
            services.item_reject(item=item, actor=user, reason=form.cleaned_data["reason"])
            messages.success(request, _("« %(title)s » est refusé.") % {"title": item.title})
    except DomainError as error:
        messages.error(request, str(error.detail))
    return redirect("donations:review_queue")
