"""URLs of the stand-in: the few Mathesar paths mathesar-init and its tests use."""
from django.urls import path

from mathesar import rpc, views

urlpatterns = [
    path("", views.home, name="home"),
    path("auth/login/", views.login_page, name="login"),
    path("complete_installation/", views.complete_installation, name="complete_installation"),
    path("api/ui/v0/data_files/", views.upload_data_file, name="data_files"),
    path("api/rpc/v0/", rpc.endpoint, name="rpc"),
    path("standin/version/", views.version, name="version"),
]
