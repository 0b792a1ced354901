from django.contrib import admin
from django.urls import include, path

from archive.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("correspondence.urls")),
]

handler400 = "correspondence.views.bad_request"
handler403 = "correspondence.views.permission_denied"
handler404 = "correspondence.views.page_not_found"
# The 500 page is Django's default handler rendering templates/500.html without context or database.
