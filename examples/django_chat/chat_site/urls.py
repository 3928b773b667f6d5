from django.urls import path

from chat_site import views

urlpatterns = [
    path("", views.index),
    path("client/socket.io.min.js", views.client_bundle),
]
