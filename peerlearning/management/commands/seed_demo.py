"""Create the synthetic demo department and print the demo sign-ins (laptops only)."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from peerlearning.demo import (
    DEFAULT_SEED,
    DEMO_PASSWORD,
    LOGIN_KEYS,
    LOGIN_LABELS,
    SIZES,
    DemoContext,
    demo_seed,
    login_email,
)


class Command(BaseCommand):
    help = (
        "Create a deterministic synthetic department (sections, people, roles, history) and "
        "print the demo sign-ins. Running it again changes nothing. Demo data is for laptops "
        "only: every demo person shares one published password."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=list(SIZES), default="default")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="First delete every person at the demo domains, and what cascades from them.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (never in production).",
        )

    def handle(self, *, size, seed, reset, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password, so it runs only with "
                "DEBUG on. Pass --force if this really is a demo machine."
            )
        began = time.perf_counter()
        result = demo_seed(size=SIZES[size], seed=seed, reset=reset)
        elapsed = time.perf_counter() - began

        if result.deleted:
            self.stdout.write("Deleted the previous demo data:")
            self._counts(result.deleted)
        ctx = result.context
        if result.created:
            self.stdout.write(
                f"Created the {ctx.size.name} demo department (seed {seed}) in {elapsed:.1f} s:"
            )
            self._counts(result.created)
        else:
            self.stdout.write(
                f"The {ctx.size.name} demo department is already there ({len(ctx.people)} "
                f"people, {len(ctx.sections)} sections; checked in {elapsed:.1f} s): nothing "
                f"changed. Use --reset to rebuild it."
            )
        self._logins(ctx)

    def _counts(self, counts: dict[str, int]):
        width = max(len(label) for label in counts)
        for label, n in counts.items():
            self.stdout.write(f"  {label:<{width}}  {n:>7}")

    def _logins(self, ctx: DemoContext):
        rows = [("Role", "E-mail", "Password")]
        for key in LOGIN_KEYS:
            user = ctx.logins.get(key)
            if user is not None:
                rows.append((self._role(ctx, key), login_email(key), DEMO_PASSWORD))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Demo sign-ins at {settings.SITE_URL}/"))
        for i, row in enumerate(rows):
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            self.stdout.write(f"  {line.rstrip()}")
            if i == 0:
                self.stdout.write("  " + "  ".join("-" * width for width in widths))
        self.stdout.write(
            "Synthetic people for laptops and demos only; every demo person has this password."
        )

    @staticmethod
    def _role(ctx: DemoContext, key: str) -> str:
        user = ctx.logins[key]
        if key == "admin":
            return f"{LOGIN_LABELS[key]} (/admin/)"
        names = {m.section.name for m in ctx.memberships if m.user_id == user.pk}
        where = "all sections" if len(names) == len(ctx.sections) > 1 else ", ".join(sorted(names))
        return f"{LOGIN_LABELS[key]} · {where}"
