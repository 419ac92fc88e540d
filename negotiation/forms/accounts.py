import logging

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, UserCreationForm
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from negotiation.models import Team

logger = logging.getLogger(__name__)


class SignupForm(UserCreationForm):
    """A new account, which either founds a team or joins one by its code."""

    email = forms.EmailField(required=True)
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    team_name = forms.CharField(
        max_length=120,
        required=False,
        help_text="Start a new team: you become its manager.",
    )
    join_code = forms.CharField(
        max_length=32,
        required=False,
        widget=forms.HiddenInput,
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email", "first_name", "last_name")

    def clean(self):
        cleaned = super().clean()
        code = cleaned.get("join_code", "").strip()
        if code:
            team = Team.objects.filter(join_code=code).first()
            if team is None:
                raise forms.ValidationError(
                    "This team invitation is no longer valid. Ask your manager "
                    "for a new link, or start your own team."
                )
            cleaned["team"] = team
        elif not cleaned.get("team_name", "").strip():
            self.add_error("team_name", "Name your team (your company or unit).")
        return cleaned


class MailingPasswordResetForm(PasswordResetForm):
    """Django's reset form, which also notes whether every email went out.

    Django's own form logs a failed send and carries on, so the page would
    say the email is on its way when it is not; ``mail_failed`` lets the
    view say so instead.
    """

    mail_failed = False

    def send_mail(
        self,
        subject_template_name,
        email_template_name,
        context,
        from_email,
        to_email,
        html_email_template_name=None,
    ) -> None:
        subject = "".join(render_to_string(subject_template_name, context).splitlines())
        message = EmailMultiAlternatives(
            subject,
            render_to_string(email_template_name, context),
            from_email,
            [to_email],
        )
        if html_email_template_name is not None:
            message.attach_alternative(
                render_to_string(html_email_template_name, context), "text/html"
            )
        try:
            message.send()
        except Exception:
            self.mail_failed = True
            logger.exception(
                "Password reset email to user %s not sent", context["user"].pk
            )
