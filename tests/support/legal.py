"""An operator's legal details, complete, as production would set them
(frontend/legal.py: REQUIRED_SETTINGS, plus the optional capital and VAT number)."""

from __future__ import annotations

LEGAL_ENV = {
    "OPERATOR_NAME": "Trëmma Coopérative",
    "OPERATOR_LEGAL_FORM": "SCIC SAS",
    "OPERATOR_ADDRESS": "12 rue des Lilas, 69001 Lyon",
    "OPERATOR_REGISTRATION": "RCS Lyon 912 345 678",
    "OPERATOR_EMAIL": "contact@tremma.example",
    "OPERATOR_PHONE": "+33 4 00 00 00 00",
    "OPERATOR_PUBLICATION_DIRECTOR": "Camille Martin",
    "HOST_NAME": "Hébergeur Solidaire SAS",
    "HOST_ADDRESS": "3 avenue du Port, 59000 Lille",
    "HOST_PHONE": "+33 3 00 00 00 00",
    "MEDIATOR_NAME": "Médiation Conso Exemple",
    "MEDIATOR_URL": "https://mediateur.example",
}
