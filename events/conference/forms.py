"""Flask-WTF forms for the organiser UI (CSRF on every one)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from events.adapters import ConfirmForm  # noqa: F401  (organiser pages import it from here)
from events.conference.models import SESSION_KINDS
from events.conference.services import MAX_CAPACITY, MAX_SEATS, unsafe_text


class SafeForm(FlaskForm):
    """A form that refuses NUL characters and unpaired surrogates in any text field, shown next
    to the field (the database refuses them, or would store them silently)."""

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        for field in self:
            values = field.data if isinstance(field.data, list) else [field.data]
            why = next((unsafe_text(v) for v in values if isinstance(v, str) and unsafe_text(v)),
                       None)
            if why:
                field.errors = list(field.errors) + [why]
                ok = False
        return ok


KIND_LABELS = {
    "keynote": "Keynote",
    "plenary": "Plenary",
    "panel": "Panel",
    "workshop": "Workshop",
    "carousel": "Carousel",
    "world_cafe": "World Cafe",
    "networking": "Networking",
    "break": "Lunch/Break",
    "other": "Other",
}


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes, one per choice (the ``field`` macro draws them as a fieldset)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(SafeForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device")


class ConferenceForm(SafeForm):
    slug = StringField(
        "Short name for links",
        description="Lower-case letters, digits and hyphens, e.g. trust-leaders-2027.",
        validators=[DataRequired(), Length(max=64)],
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    tagline = StringField("Tagline", validators=[Optional(), Length(max=300)])
    starts_on = DateField("First day", validators=[DataRequired()])
    ends_on = DateField("Last day", validators=[DataRequired()])
    timezone = StringField(
        "Time zone",
        default="Europe/London",
        description="An IANA time zone such as Europe/London.",
        validators=[DataRequired()],
    )
    venue = StringField("Venue", validators=[Optional(), Length(max=300)])
    published = BooleanField("Published (programme visible to everyone)")
    registration_open = BooleanField(
        "Registration open (people may sign themselves up with /convenor signup in Slack)")
    registration_capacity = IntegerField(
        "Places (optional)", validators=[Optional(), NumberRange(min=1, max=MAX_CAPACITY)],
        description="When this many are registered, later sign-ups join a waitlist and move up "
                    "when someone cancels.")
    notify_email = SelectField(
        "Tell delegates about changes by email",
        choices=[SelectChoice("unlinked", "Only delegates not linked to Slack (recommended)"),
                 SelectChoice("always", "Everyone, Slack or not"),
                 SelectChoice("never", "Never (Slack and the web pages only)")],
        default="unlinked")
    email_reminders = BooleanField(
        "Email reminders 5 minutes before each round (Slack and the web pages always remind)")
    contact_email = EmailField(
        "Contact address on every email", validators=[Optional(), Email(), Length(max=254)],
        description="Where delegates can write back, e.g. events@example.org.")


class RoomForm(SafeForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    capacity = IntegerField("Seats", validators=[DataRequired(), NumberRange(min=1, max=MAX_SEATS)])
    step_free = BooleanField("Step-free access")
    hearing_loop = BooleanField("Hearing loop")


class SpeakerForm(SafeForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    honours = StringField(
        "Honours", description="Post-nominals such as CBE, MBE or PhD.", validators=[Optional()]
    )
    organisation = StringField("Organisation", validators=[Optional(), Length(max=200)])
    bio = TextAreaField("Biography", validators=[Optional(), Length(max=5000)])


class SessionForm(SafeForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=300)])
    # No default: a drinks reception must not land under Keynotes because nobody changed it.
    kind = SelectField(
        "Kind",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(k, KIND_LABELS[k]) for k in SESSION_KINDS],
        validators=[DataRequired("Choose what kind of session this is.")],
    )
    starts_at = DateTimeLocalField(
        "Starts", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    ends_at = DateTimeLocalField("Ends", format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    room_id = SelectField("Room", coerce=lambda v: int(v) if v not in (None, "", "None") else None)
    capacity = IntegerField(
        "Seats offered",
        description="Leave empty to offer the whole room.",
        validators=[Optional(), NumberRange(min=1, max=MAX_SEATS)],
    )
    speaker_ids = MultiCheckboxField("Speakers", coerce=int, validators=[Optional()])
    description = TextAreaField("Description", validators=[Optional()])


class DelegateForm(SafeForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email()])
    organisation = StringField("Organisation (trust)", validators=[Optional(), Length(max=200)])
    role = StringField("Role", validators=[Optional(), Length(max=200)])
    region = StringField("Region", validators=[Optional(), Length(max=120)])
    pronouns = StringField("Pronouns", description="Printed on the badge, e.g. she/her.",
                           validators=[Optional(), Length(max=40)])
    needs_step_free = BooleanField("Needs step-free access")
    needs_hearing_loop = BooleanField("Needs a hearing loop")
    access_other = StringField("Other access needs", validators=[Optional(), Length(max=500)])
    dietary = StringField("Dietary needs", validators=[Optional(), Length(max=300)])
    slack_user_id = StringField(
        "Slack user ID", description="Like U01ABCDEF.", validators=[Optional(), Length(max=32)]
    )


class ImportForm(SafeForm):
    file = FileField(
        "Delegate CSV",
        description="Columns name, email, organisation, role; optional region, access_needs, "
        "dietary, slack_user_id. UTF-8.",
        validators=[FileRequired(), FileAllowed(["csv", "txt"], "Choose a .csv file")],
    )
