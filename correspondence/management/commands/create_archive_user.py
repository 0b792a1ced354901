"""
Create a staff account in one of the archive's roles.

Usage::

    python manage.py create_archive_user USERNAME --role editor|curator|viewer [--email E] [--dry-run]

The password is read from the DJANGO_ARCHIVE_PASSWORD environment variable,
or asked for twice on a terminal; it never appears on the command line.
"""

import getpass
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from correspondence.roles import ROLES


class Command(BaseCommand):
    help = "Create a staff user in a role (editor, curator or viewer), or add an existing user to it."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(ROLES))
        parser.add_argument("--email", default="")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be done, change nothing.")

    def handle(self, username, role, email, dry_run, **options):
        group_name = ROLES[role]["group"]
        try:
            group = Group.objects.get(name=group_name)
        except Group.DoesNotExist:
            raise CommandError(f"The group {group_name!r} is missing: run `python manage.py migrate` first.") from None
        User = get_user_model()
        existing = User.objects.filter(username=username).first()
        if dry_run:
            action = "add existing user" if existing else "create user"
            self.stdout.write(f"Would {action} {username!r} to the group {group_name!r}.")
            return
        with transaction.atomic():
            if existing is None:
                password = self.read_password()
                user = User(username=username, email=email, is_staff=True)
                try:
                    validate_password(password, user)
                except ValidationError as error:
                    raise CommandError("Password refused: " + " ".join(error.messages)) from None
                user.set_password(password)
                user.save()
            else:
                user = existing
                if not user.is_staff:
                    user.is_staff = True
                    user.save(update_fields=["is_staff"])
            user.groups.add(group)
        verb = "Added" if existing else "Created"
        self.stdout.write(self.style.SUCCESS(f"{verb} {username!r} in the group {group_name!r}."))

    def read_password(self):
        password = os.environ.get("DJANGO_ARCHIVE_PASSWORD")
        if password:
            return password
        if not os.isatty(0):
            raise CommandError("Set DJANGO_ARCHIVE_PASSWORD, or run the command in a terminal to type the password.")
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
