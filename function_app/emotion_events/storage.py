"""Blob access from the Function's app settings: a connection string (a Key Vault reference in Azure,
Azurite's locally) or, without one, the account URL plus a managed identity (keyless)."""

from __future__ import annotations

from typing import Any, Mapping

from . import app_settings as S
from .limits import check_container_name


def client_options() -> dict[str, Any]:
    """Bounded retries (two, about 3 and 5 s apart; the SDK default waits 15 s and more): an HTTP call
    must fail well within its 230 s budget instead of hanging on a dead endpoint. The timer adds its
    own retry policy on top."""
    from azure.storage.blob import ExponentialRetry

    return {
        "retry_policy": ExponentialRetry(initial_backoff=1, increment_base=2, retry_total=2, random_jitter_range=1),
        "connection_timeout": 10,
        "read_timeout": 60,
    }


class StorageConfigError(ValueError):
    """The app settings do not describe a usable bronze store; names the setting."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        super().__init__(f"{setting}: {message}")


def container_name(settings: Mapping[str, str]) -> str:
    name = (settings.get(S.BRONZE_CONTAINER) or S.DEFAULTS[S.BRONZE_CONTAINER]).strip()
    if problem := check_container_name(name):
        raise StorageConfigError(S.BRONZE_CONTAINER, f"{name!r} is not a valid container name ({problem})")
    return name


def describe_mode(settings: Mapping[str, str]) -> str:
    if (settings.get(S.BRONZE_CONNECTION_STRING) or "").strip():
        return "connection_string"
    if (settings.get(S.BRONZE_ACCOUNT_URL) or "").strip():
        return "managed_identity"
    return "unconfigured"


def blob_service_client(settings: Mapping[str, str], **options: Any):
    """A ``BlobServiceClient`` for the bronze account. Raises :class:`StorageConfigError` (naming the
    setting) when neither mode is configured or a Key Vault reference was not resolved."""
    from azure.storage.blob import BlobServiceClient

    kwargs = {**client_options(), **options}
    conn = (settings.get(S.BRONZE_CONNECTION_STRING) or "").strip()
    if conn:
        if conn.startswith("@Microsoft.KeyVault("):
            raise StorageConfigError(
                S.BRONZE_CONNECTION_STRING,
                "the Key Vault reference was not resolved; check the app's identity has 'Key Vault Secrets User' on the secret",
            )
        try:
            return BlobServiceClient.from_connection_string(conn, **kwargs)
        except ValueError as exc:  # the SDK's message never echoes the key
            raise StorageConfigError(S.BRONZE_CONNECTION_STRING, f"not a storage connection string ({exc})") from None
    url = (settings.get(S.BRONZE_ACCOUNT_URL) or "").strip()
    if url:
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise StorageConfigError(S.BRONZE_ACCOUNT_URL, f"{url!r} must be an https:// blob endpoint")
        return BlobServiceClient(url, credential=_credential(settings), **kwargs)
    raise StorageConfigError(
        S.BRONZE_CONNECTION_STRING, f"set it (or {S.BRONZE_ACCOUNT_URL} for managed-identity access) to reach bronze storage"
    )


def _credential(settings: Mapping[str, str]):
    """A user-assigned identity when its client id is set (fast, no probing); otherwise the default
    chain, which finds a system-assigned identity in Azure and a developer login locally."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    client_id = (settings.get(S.MANAGED_IDENTITY_CLIENT_ID) or "").strip()
    if client_id:
        return ManagedIdentityCredential(client_id=client_id)
    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def container_client(settings: Mapping[str, str], **options: Any):
    return blob_service_client(settings, **options).get_container_client(container_name(settings))
