from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import api, views
from accounts.forms import AnyAccountPasswordResetForm, EmailAuthenticationForm, ResetSetPasswordForm

# Mounted under /api/ by tremma/urls.py.
api_urlpatterns = [
    path("accounts/", api.SignUpView.as_view(), name="api-sign-up"),
    path("accounts/verify/", api.VerifyView.as_view(), name="api-verify"),
    path("accounts/verify/resend/", api.VerifyResendView.as_view(), name="api-verify-resend"),
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("me/", api.MeView.as_view(), name="api-me"),
    path("me/password/", api.MePasswordView.as_view(), name="api-me-password"),
    path("me/export/", api.MeExportView.as_view(), name="api-me-export"),
]

# Pages, mounted under /comptes/ (LOGIN_URL is /comptes/connexion/).
app_name = "accounts"

_reset = {
    "email_template_name": "accounts/password_reset_email.txt",
    "subject_template_name": "accounts/password_reset_subject.txt",
    "template_name": "accounts/password_reset.html",
    "success_url": reverse_lazy("accounts:password_reset_done"),
    "form_class": AnyAccountPasswordResetForm,
}

urlpatterns = [
    path("inscription/", views.sign_up, name="sign_up"),
    path(
        "connexion/",
        views.SignInView.as_view(
            template_name="accounts/sign_in.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="sign_in",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="sign_out"),
    path("mot-de-passe/", views.PasswordResetView.as_view(**_reset), name="password_reset"),
    path(
        "mot-de-passe/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            form_class=ResetSetPasswordForm,
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/termine/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
    path("verifier/renvoyer/", views.verify_resend, name="verify_resend"),
    path("verifier/<str:token>/", views.verify, name="verify"),
    path("profil/", views.profile, name="profile"),
    path("profil/export.json", views.export, name="export"),
    path("profil/supprimer/", views.delete, name="delete"),
    path("supprime/", views.deleted, name="deleted"),
]
