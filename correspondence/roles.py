"""
The archive's staff roles and what each may do.

- editors create and change records, and send them for review; they cannot
  publish, unpublish, merge or delete;
- curators also publish, unpublish, merge and delete;
- viewers read the admin and change nothing.

The groups are created by a data migration from ``ROLES``; the admin checks
the same permissions, so a refused action is refused on the server, not only
hidden in the page.
"""

from django.apps import apps as global_apps

RECORD_MODELS = (
    "letter",
    "paragraph",
    "footnote",
    "participation",
    "citation",
    "mention",
    "agent",
    "agentname",
    "place",
    "placename",
    "citeddocument",
    "sourcedocument",
)
PUBLISHABLE_MODELS = ("letter", "agent", "place", "citeddocument", "sourcedocument")
MERGEABLE_MODELS = ("agent", "place")


def _codenames(actions, models):
    return [f"{action}_{model}" for action in actions for model in models]


ROLES = {
    "editor": {
        "group": "editors",
        "permissions": _codenames(("view", "add", "change"), RECORD_MODELS),
    },
    "curator": {
        "group": "curators",
        "permissions": _codenames(("view", "add", "change", "delete"), RECORD_MODELS)
        + _codenames(("publish",), PUBLISHABLE_MODELS)
        + _codenames(("merge",), MERGEABLE_MODELS),
    },
    "viewer": {
        "group": "viewers",
        "permissions": _codenames(("view",), RECORD_MODELS),
    },
}


def sync_groups(apps=global_apps, verbosity=0):
    """Create or update the three groups with exactly their permissions (used by a data migration)."""
    from django.contrib.auth.management import create_permissions

    for app_config in global_apps.get_app_configs() if apps is global_apps else apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=verbosity)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES.values():
        group, _created = Group.objects.get_or_create(name=role["group"])
        permissions = Permission.objects.filter(
            content_type__app_label="correspondence", codename__in=role["permissions"]
        )
        missing = set(role["permissions"]) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Permissions missing for {role['group']}: {sorted(missing)}")
        group.permissions.set(permissions)
