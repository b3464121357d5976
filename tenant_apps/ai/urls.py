from django.urls import path

from tenant_apps.ai import views

urlpatterns = [
    path("tickets/<int:number>/ai/draft/", views.ai_draft, name="ai_draft"),
    path("tickets/<int:number>/ai/ask/", views.ai_ask, name="ai_ask"),
    path("tickets/<int:number>/ai/answers/<int:result_id>/", views.ai_answer, name="ai_answer"),
    path("tickets/<int:number>/ai/review/", views.ai_review, name="ai_review"),
    path("tickets/<int:number>/ai/solved/<int:message_id>/", views.ai_solved, name="ai_solved"),
]
