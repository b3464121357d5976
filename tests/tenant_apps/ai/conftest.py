import pytest
from django.db import connection

from tests.fakes.ai_servers import FakeAIServer


@pytest.fixture
def fake_ai():
    server = FakeAIServer().start()
    server.timeout_sleep = 1.5
    yield server
    server.stop()


def _fast_faults(settings):
    settings.AI_TIMEOUT_SECONDS = 0.5
    settings.AI_RETRY_BASE_SECONDS = 0.01
    settings.AI_MAX_RETRIES = 3
    settings.AI_BREAKER_FAILURES = 5
    settings.AI_BREAKER_SECONDS = 60


@pytest.fixture
def use_openai(settings, fake_ai):
    settings.AI_PROVIDER = "openai"
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = fake_ai.url + "/v1"
    settings.OPENAI_MODEL = "gpt-test"
    _fast_faults(settings)
    return fake_ai


@pytest.fixture
def use_gemini(settings, fake_ai):
    settings.AI_PROVIDER = "gemini"
    settings.GEMINI_API_KEY = "gm-test"
    settings.GEMINI_BASE_URL = fake_ai.url
    settings.GEMINI_MODEL = "gemini-test"
    _fast_faults(settings)
    return fake_ai


@pytest.fixture
def offline_only(settings):
    settings.AI_PROVIDER = "auto"
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = ""
    settings.GEMINI_API_KEY = settings.GEMINI_BASE_URL = ""


@pytest.fixture
def in_acme(acme):
    connection.set_tenant(acme)
    return acme
