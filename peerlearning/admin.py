"""The Django admin for people, sections, memberships, the outbox and the audit trail.

Rosters are imported on the membership list through our own "Import roster" page (upload,
preview, confirm) backed by peerlearning/roster.py, and exported with django-import-export;
docs/roster.md says why the import does not use import-export.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from import_export import fields, resources
from import_export.admin import ExportActionMixin

from peerlearning.lib.audit import audit_record
from peerlearning.lib.emails import email_retry
from peerlearning.lib.spreadsheets import spreadsheet_dataset
from peerlearning.models import (
    ApiToken,
    AuditEvent,
    Membership,
    OutboundEmail,
    Section,
    SitePolicy,
    User,
)
from peerlearning.roster import COLUMNS, invitation_send, roster_import, roster_parse
from peerlearning.services import api_tokens_revoke

ROSTER_SALT = "peerlearning.admin.roster-import"
ROSTER_MAX_BYTES = 2 * 1024 * 1024
ROSTER_PREVIEW_MAX_AGE = 60 * 60


class AuditedAdminMixin:
    """Admin writes go to the audit trail with the names of the changed fields, not values."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditEvent.Action.UPDATE if change else AuditEvent.Action.CREATE,
            obj=obj,
            request=request,
            detail={"fields": sorted(form.changed_data), "via": "admin"},
        )

    def save_formset(self, request, form, formset, change):
        deleted = [f.instance.pk for f in formset.deleted_forms if f.instance.pk is not None]
        super().save_formset(request, form, formset, change)
        label = formset.model._meta.label_lower
        for obj in formset.new_objects:
            audit_record(
                action=AuditEvent.Action.CREATE, obj=obj, request=request, detail={"via": "admin"}
            )
        for obj, changed in formset.changed_objects:
            audit_record(
                action=AuditEvent.Action.UPDATE,
                obj=obj,
                request=request,
                detail={"fields": sorted(changed), "via": "admin"},
            )
        for pk in deleted:
            audit_record(
                action=AuditEvent.Action.DELETE,
                object_type=label,
                object_id=pk,
                request=request,
                detail={"via": "admin"},
            )

    def delete_model(self, request, obj):
        pk = obj.pk
        super().delete_model(request, obj)
        audit_record(
            action=AuditEvent.Action.DELETE,
            object_type=obj._meta.label_lower,
            object_id=pk,
            request=request,
            detail={"via": "admin"},
        )

    def delete_queryset(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True))
        super().delete_queryset(request, queryset)
        for pk in pks:
            audit_record(
                action=AuditEvent.Action.DELETE,
                object_type=self.model._meta.label_lower,
                object_id=pk,
                request=request,
                detail={"via": "admin"},
            )


# People ---------------------------------------------------------------------------------


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "first_name", "last_name")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("A person with this e-mail address already exists.")
        return email


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {}


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ("section", "role", "participating", "started_on", "ended_on")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("section")


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)
    inlines = [MembershipInline]
    actions = ["send_invitation"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "npi")}),
        (
            "Site administration",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "description": "Site administrators are staff. Program roles are memberships.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "email",
                    "first_name",
                    "last_name",
                    "usable_password",
                    "password1",
                    "password2",
                ),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")

    def get_inlines(self, request, obj):
        # Memberships are added once the person exists (the add page is Django's two-step one).
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # A deactivated person's tokens end with the account, and stay ended if it returns.
            api_tokens_revoke(tokens=obj.api_tokens.all(), actor=request.user)

    @admin.action(description="Send an invitation (a link to set a password)")
    def send_invitation(self, request, queryset):
        sent = skipped = 0
        for user in queryset:
            if not user.is_active:
                skipped += 1
                continue
            _, created = invitation_send(user=user, actor=request.user, request=request)
            sent += created
            skipped += not created
        messages.success(request, f"{sent} invitation(s) queued.")
        if skipped:
            messages.warning(
                request,
                f"{skipped} not sent: deactivated, or already invited today.",
            )


# Sections and memberships ----------------------------------------------------------------


@admin.register(Section)
class SectionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "slug", "is_active", "current_members")
    list_filter = ("is_active",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        today = timezone.localdate()
        in_force = Q(memberships__started_on__lte=today) & (
            Q(memberships__ended_on__isnull=True) | Q(memberships__ended_on__gt=today)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(member_count=Count("memberships__user", filter=in_force, distinct=True))
        )

    @admin.display(description="current members", ordering="member_count")
    def current_members(self, section):
        return section.member_count


class MembershipResource(resources.ModelResource):
    """Export in the roster's own columns (one role a line), so the file can be re-imported."""

    email = fields.Field(attribute="user__email", column_name="email")
    first_name = fields.Field(attribute="user__first_name", column_name="first_name")
    last_name = fields.Field(attribute="user__last_name", column_name="last_name")
    roles = fields.Field(attribute="role", column_name="roles")
    section = fields.Field(attribute="section__slug", column_name="section")
    participating = fields.Field(column_name="participating")
    started_on = fields.Field(attribute="started_on", column_name="started_on")
    ended_on = fields.Field(attribute="ended_on", column_name="ended_on")

    class Meta:
        model = Membership
        fields = (*COLUMNS, "started_on", "ended_on")
        export_order = fields

    def dehydrate_participating(self, membership):
        return "yes" if membership.participating else "no"

    def export(self, queryset=None, **kwargs):
        # Names are typed by people: none may reach a spreadsheet as a formula.
        return spreadsheet_dataset(super().export(queryset, **kwargs))


class InForceFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "in_force"

    def lookups(self, request, model_admin):
        return [("yes", "In force today"), ("no", "Ended or not started")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.current()
        if self.value() == "no":
            return queryset.exclude(pk__in=Membership.objects.current().values("pk"))
        return queryset


class RosterUploadForm(forms.Form):
    file = forms.FileField(
        label="Roster file (CSV, UTF-8)",
        help_text="Columns: " + ", ".join(COLUMNS) + ". Roles are separated by “;”.",
    )
    sync = forms.BooleanField(
        required=False,
        label="Also end the memberships the file no longer lists, in the sections it names",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ROSTER_MAX_BYTES:
            raise forms.ValidationError("The file is larger than 2 MB; is it really a roster?")
        return upload


@admin.register(Membership)
class MembershipAdmin(AuditedAdminMixin, ExportActionMixin, admin.ModelAdmin):
    resource_classes = [MembershipResource]
    import_export_change_list_template = "admin/peerlearning/membership/change_list_roster.html"
    list_display = ("user", "section", "role", "participating", "started_on", "ended_on")
    list_filter = ("section", "role", "participating", InForceFilter)
    list_select_related = ("user", "section")
    search_fields = ("user__email", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_roster_view),
                name="{}_{}_import".format(*info),
            ),
            *super().get_urls(),
        ]

    def has_import_permission(self, request) -> bool:
        return (
            self.has_add_permission(request)
            and self.has_change_permission(request)
            and request.user.has_perm("peerlearning.add_user")
            and request.user.has_perm("peerlearning.change_user")
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {})}
        extra_context["has_import_permission"] = self.has_import_permission(request)
        return super().changelist_view(request, extra_context)

    def get_data_for_export(self, request, queryset, **kwargs):
        dataset = super().get_data_for_export(request, queryset, **kwargs)
        audit_record(
            action=AuditEvent.Action.EXPORT,
            object_type="peerlearning.membership",
            request=request,
            detail={"what": "roster", "rows": len(dataset)},
        )
        return dataset

    def import_roster_view(self, request):
        """Upload → preview (a dry run) → confirm; the confirmed text is the previewed one."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import roster",
            "columns": COLUMNS,
        }
        if request.method == "POST" and "confirm" in request.POST:
            return self._import_confirm(request, context)

        form = RosterUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data["file"].read()
            parsed = roster_parse(data)
            sync = form.cleaned_data["sync"]
            context.update(
                form=form, warnings=parsed.warnings, filename=form.cleaned_data["file"].name
            )
            if not parsed.ok:
                context["errors"] = parsed.error_messages()
            else:
                summary = roster_import(
                    rows=parsed.rows, actor=request.user, sync=sync, dry_run=True
                )
                payload = {"text": parsed.text, "sync": sync, "name": context["filename"]}
                context.update(
                    summary=summary,
                    sync=sync,
                    payload=signing.dumps(payload, salt=ROSTER_SALT, compress=True),
                )
            return TemplateResponse(
                request, "admin/peerlearning/membership/import_roster.html", context
            )
        context["form"] = form
        return TemplateResponse(
            request, "admin/peerlearning/membership/import_roster.html", context
        )

    def _import_confirm(self, request, context):
        try:
            payload = signing.loads(
                request.POST.get("payload", ""), salt=ROSTER_SALT, max_age=ROSTER_PREVIEW_MAX_AGE
            )
        except signing.BadSignature:
            messages.error(request, "The preview has expired; upload the file again.")
            return HttpResponseRedirect(request.path)
        parsed = roster_parse(payload["text"])
        if not parsed.ok:
            # Only if the rules changed between preview and confirm.
            context.update(form=RosterUploadForm(), errors=parsed.error_messages())
            return TemplateResponse(
                request, "admin/peerlearning/membership/import_roster.html", context
            )
        summary = roster_import(
            rows=parsed.rows,
            actor=request.user,
            sync=payload["sync"],
            request=request,
            source="admin",
        )
        if summary.changed:
            messages.success(request, f"{payload['name']} imported. {summary.describe()}")
        else:
            messages.info(request, f"{payload['name']} changed nothing. {summary.describe()}")
        return redirect(reverse("admin:peerlearning_membership_changelist"))


# Platform ------------------------------------------------------------------------------


@admin.register(SitePolicy)
class SitePolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    fields = SitePolicy.MFA_FIELDS

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # One row: the list is the form.
        policy = SitePolicy.load()
        return redirect(reverse("admin:peerlearning_sitepolicy_change", args=[policy.pk]))


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every person's API tokens: seen and revoked here, made by their owner (or the command)."""

    list_display = ("prefix", "user", "name", "created_at", "expires_at", "last_used_at", "state")
    list_filter = ("revoked_at", "expires_at")
    search_fields = ("user__email", "name", "prefix")
    list_select_related = ("user",)
    actions = ["revoke"]
    readonly_fields = [
        field.name
        for field in ApiToken._meta.fields
        if field.name not in ("key_hash", "password_fingerprint")
    ]
    exclude = ("key_hash", "password_fingerprint")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="state")
    def state(self, token):
        if token.revoked_at:
            return "revoked"
        return "expired" if token.is_expired else "usable"

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = api_tokens_revoke(tokens=queryset, actor=request.user)
        messages.success(request, f"{revoked} token(s) revoked.")


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ("subject", "to", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status",)
    search_fields = ("to", "subject", "key")
    date_hierarchy = "created_at"
    actions = ["send_again"]
    readonly_fields = [field.name for field in OutboundEmail._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Bodies can carry names: reading one is recorded, as on the outbox page.
        audit_record(
            action=AuditEvent.Action.VIEW,
            object_type="peerlearning.outboundemail",
            object_id=object_id,
            request=request,
        )
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Send the failed e-mails again")
    def send_again(self, request, queryset):
        failed = list(queryset.filter(status=OutboundEmail.Status.FAILED))
        for email in failed:
            email_retry(email=email)
        skipped = queryset.count() - len(failed)
        messages.success(request, f"{len(failed)} e-mail(s) will be sent again.")
        if skipped:
            messages.warning(request, f"{skipped} had not failed and were left alone.")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_email", "action", "object_type", "object_id", "ip_address")
    list_filter = ("action", "object_type", "at")
    search_fields = ("actor_email", "object_type", "object_id", "path")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in AuditEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
