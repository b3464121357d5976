"""Platform admins choose a site's provider and model, or keep its data offline."""

from django_tenants.utils import tenant_context

from shared_apps.billing.metering import usage_add
from tenant_apps.ai.models import AISettings
from tests.conftest import ROOT, http


def test_platform_admin_overrides_the_provider_of_one_site(acme, globex, users):
    client = http(ROOT, users["platform"])
    response = client.post("/console/sites/acme/ai/", {"provider": "gemini", "model": "gemini-x"})
    assert response.status_code == 302
    with tenant_context(acme):
        ai = AISettings.objects.get(pk=1)
        assert (ai.provider, ai.model, ai.keep_data_offline) == ("gemini", "gemini-x", False)
    with tenant_context(globex):
        assert AISettings.objects.get(pk=1).provider == ""  # the other site is untouched


def test_the_page_shows_usage_and_why_the_offline_model_answers(acme, users, settings):
    settings.AI_PROVIDER, settings.OPENAI_API_KEY = "openai", "sk"
    usage_add(client_id=acme.pk, provider="openai", model="gpt-x", tokens_in=1200, tokens_out=34)
    client = http(ROOT, users["platform"])
    client.post("/console/sites/acme/ai/", {"provider": "", "model": "", "keep_data_offline": "on"})
    page = client.get("/console/sites/acme/ai/").content.decode()
    assert "1,234" in page and "gpt-x" in page
    assert "offline because this site keeps its data off external AI providers" in page


def test_nobody_else_reaches_the_ai_settings(acme, users):
    for role in ("engineer_all", "acme_admin", "outsider"):
        assert http(ROOT, users[role]).post("/console/sites/acme/ai/", {"provider": "openai"}).status_code == 404
    with tenant_context(acme):
        assert AISettings.objects.get(pk=1).provider == ""


def test_an_unknown_site_is_a_404(users):
    assert http(ROOT, users["platform"]).get("/console/sites/nope/ai/").status_code == 404


def test_client_admin_sees_why_the_site_is_on_the_offline_model(acme, users, settings):
    from tests.conftest import ACME_HOST

    settings.AI_PROVIDER, settings.OPENAI_API_KEY = "openai", "sk"
    quota = acme.plan.ai_token_quota
    admin = http(ACME_HOST, users["acme_admin"])
    assert "Answers come from openai" in admin.get("/reports/").content.decode()
    usage_add(client_id=acme.pk, provider="openai", model="gpt-x", tokens_in=quota, tokens_out=0)
    page = admin.get("/reports/").content.decode()
    assert f"{quota:,} of {quota:,} tokens" in page
    assert "use the offline model because the monthly AI quota is used" in page


def test_client_admin_card_after_the_site_went_offline_does_not_deny_earlier_use(acme, users, settings):
    from tests.conftest import ACME_HOST

    settings.AI_PROVIDER, settings.OPENAI_API_KEY = "offline", ""
    admin = http(ACME_HOST, users["acme_admin"])
    assert "Answers come from the offline model; nothing leaves TenantDesk." in admin.get("/reports/").content.decode()
    usage_add(client_id=acme.pk, provider="openai", model="gpt-x", tokens_in=900, tokens_out=100)
    page = admin.get("/reports/").content.decode()
    assert "1,000 of" in page  # this month's earlier external use stays visible
    assert "Answers now come from the offline model: nothing more leaves TenantDesk." in page
    assert "nothing leaves TenantDesk" not in page
