# The audit trail records the donor wall's moderation (a message shown or hidden).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0009_audit_trail'),
    ]

    operations = [
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('refund', 'Remboursement demandé'), ('receipt_cancelled', 'Reçu fiscal annulé'), ('legal_details_changed', 'Mentions des reçus modifiées'), ('payout_account_created', 'Compte de versement créé'), ('payout_onboarding_opened', 'Formulaire du compte de versement ouvert'), ('payout_account_updated', 'État du compte de versement changé'), ('role_changed', 'Rôle changé'), ('member_removed', 'Membre retiré'), ('invitation_sent', 'Invitation envoyée'), ('invitation_revoked', 'Invitation annulée'), ('invitation_accepted', 'Invitation acceptée'), ('wall_approved', 'Message du mur des donateurs affiché'), ('wall_hidden', 'Message du mur des donateurs masqué')], max_length=40, verbose_name='action'),
        ),
    ]
