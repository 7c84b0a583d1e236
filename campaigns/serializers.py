"""How the API shows an organisation wherever another resource refers to it."""

from __future__ import annotations

from rest_framework import serializers

from campaigns.models import Organisation


class OrganisationRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organisation
        fields = ("slug", "name")
