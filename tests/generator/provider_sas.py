"""The container SAS exactly as Terraform mints it for the Function's connection string.

``data.azurerm_storage_account_blob_container_sas`` (azurerm v4.55.0,
internal/services/storage/storage_account_blob_container_sas_data_source.go) makes no API call: it
parses the account's connection string and signs locally with
``ComputeContainerSASToken`` of vendor/github.com/hashicorp/go-azure-helpers/storage/sas_token.go:
service SAS version 2018-11-09, ``sr=c``, permissions in the order r a c w d l, and a token that
starts with ``?``. This module repeats that field order so the tests can hand Azurite, the real
counterpart that checks the signature and the permissions, the very string an apply would store;
``test_sas_storage.py`` cross-checks the signature against azure-storage-blob's own implementation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

SIGNED_VERSION = "2018-11-09"
PERMISSION_ORDER = ("read", "add", "create", "write", "delete", "list")


def permissions_string(**granted: bool) -> str:
    unknown = set(granted) - set(PERMISSION_ORDER)
    if unknown:
        raise ValueError(f"unknown permissions {sorted(unknown)}")
    return "".join(name[0] for name in PERMISSION_ORDER if granted.get(name))


def container_sas(*, account_name: str, account_key: str, container: str, permissions: str, start: str,
                  expiry: str, https_only: bool = True, ip: str = "") -> str:
    """The ``sas`` attribute of the data source (leading ``?`` included)."""
    protocol = "https" if https_only else "https,http"
    string_to_sign = "\n".join([
        permissions, start, expiry, f"/blob/{account_name}/{container}", "", ip, protocol, SIGNED_VERSION,
        "c", "", "", "", "", "", "",
    ])
    digest = hmac.new(base64.b64decode(account_key), string_to_sign.encode("utf-8"), hashlib.sha256).digest()
    token = f"?sv={SIGNED_VERSION}&sr=c&st={start}&se={expiry}&sp={permissions}"
    if ip:
        token += f"&sip={ip}"
    token += f"&spr={protocol}"
    return token + "&sig=" + quote_plus(base64.b64encode(digest).decode())


def connection_string(blob_endpoint: str, sas: str) -> str:
    """The secret's value as the stack writes it (``SilverStorage.sas_connection_string``)."""
    return f"BlobEndpoint={blob_endpoint};SharedAccessSignature={sas.removeprefix('?')}"
