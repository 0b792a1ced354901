"""The three staff groups (editors, curators, viewers) with their permissions; see correspondence/roles.py."""

from django.db import migrations


def create_groups(apps, schema_editor):
    from correspondence.roles import sync_groups

    sync_groups(apps)


def remove_groups(apps, schema_editor):
    from correspondence.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=[role["group"] for role in ROLES.values()]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("correspondence", "0004_curation"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
