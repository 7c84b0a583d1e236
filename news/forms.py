from __future__ import annotations

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.photos import PhotoRefused, PreparedPhoto, prepare_photo


class UpdateForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Titre"), max_length=200)
    text = forms.CharField(
        label=gettext_lazy("Texte"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": "8", "maxlength": "10000"}),
        help_text=gettext_lazy("Texte simple : une ligne vide sépare deux paragraphes."),
    )
    photo = forms.FileField(
        label=gettext_lazy("Photo (facultative)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def clean_title(self) -> str:
        title: str = self.cleaned_data["title"]
        # The title is the email's subject: a line break there would split its header.
        if any(ord(char) < 32 or ord(char) == 127 for char in title):
            raise forms.ValidationError(_("Le titre tient sur une ligne, sans caractère de contrôle."))
        return title

    def clean_photo(self) -> PreparedPhoto | None:
        """Checked by its content and re-encoded (EXIF dropped) by the photo pipeline;
        anything it refuses is told beside the field."""
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        try:
            return prepare_photo(upload)
        except PhotoRefused as refused:
            raise forms.ValidationError(refused.message) from refused
