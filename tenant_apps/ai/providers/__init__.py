"""Provider registry. Services call `provider_by_name`; SDK modules are imported lazily."""

from __future__ import annotations

from importlib import import_module

from tenant_apps.ai.providers.base import Provider, ProviderError

PROVIDERS = {
    "offline": ("tenant_apps.ai.providers.offline", "OfflineProvider"),
    "openai": ("tenant_apps.ai.providers.openai_provider", "OpenAIProvider"),
    "gemini": ("tenant_apps.ai.providers.gemini_provider", "GeminiProvider"),
}


def provider_by_name(name: str, **options) -> Provider:
    """A provider instance by registry name; options override settings (model, base_url...)."""
    try:
        module_path, class_name = PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"Unknown AI provider {name!r}; choose one of {', '.join(PROVIDERS)}.") from None
    return getattr(import_module(module_path), class_name)(**options)


__all__ = ["PROVIDERS", "Provider", "ProviderError", "provider_by_name"]
