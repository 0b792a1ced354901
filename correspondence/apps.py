from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CorrespondenceConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "correspondence"
    verbose_name = _("Correspondence")

    def ready(self):
        from correspondence import search

        search.connect_signals()

        from correspondence import state

        state.connect_signals()

        from correspondence import history

        history.register_models()
