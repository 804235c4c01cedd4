"""A small client for the OCI distribution API: resolve references, read blobs, push images.

It speaks to any OCI/Docker v2 registry: anonymous, HTTP basic, or bearer tokens obtained from
the realm named in the registry's `WWW-Authenticate` challenge. A registry is someone else's
server: its answers are size-bounded, the login goes only to the registries it was configured
for, and a token realm or a redirect that points at another host is followed only when that host
passes the same egress check as a submitted reference. A client with `allowed_hosts` also judges
every connection's addresses as it connects (egress_backend.py), so a name cannot pass the check
with one address and be connected to at another.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from vexxy.errors import (
    ImageNotFound,
    PlatformNotFound,
    RegistryAuthError,
    RegistryError,
    RegistryUnavailable,
    UnsupportedManifest,
)
from vexxy.oci.egress import RegistryNotAllowed, Resolver, check_registry, system_resolver
from vexxy.oci.egress_backend import EgressCheckedTransport
from vexxy.oci.image import (
    INDEX_TYPES,
    MANIFEST_TYPES,
    ImageConfig,
    Layer,
    Platform,
    ResolvedImage,
)
from vexxy.oci.reference import ImageReference

ACCEPT_MANIFESTS = ", ".join(INDEX_TYPES + MANIFEST_TYPES)
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


# Distribution refuses manifests over 4 MiB; configs and token answers are far smaller.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_TOKEN_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)


def _read_bounded(response: httpx.Response, limit: int, who: str, url: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if response.request.method != "HEAD" and declared.isdigit() and int(declared) > limit:
        raise RegistryError(f"{who} announced {int(declared)} bytes for {url}; at most {limit} are read.")
    chunks, size = [], 0
    for chunk in response.iter_bytes(64 * 1024):
        size += len(chunk)
        if size > limit:
            raise RegistryError(f"{who} sent more than {limit} bytes for {url}; the answer was refused.")
        chunks.append(chunk)
    return b"".join(chunks)


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_loopback_host(registry: str) -> bool:
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1 : registry.index("]")]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class RegistryClient:
    username: str | None = None
    password: str | None = None
    insecure_registries: tuple[str, ...] = ()
    timeout: float = 30.0
    # Registries the login belongs to (None: every registry, for callers that name one themselves).
    credential_registries: frozenset[str] | None = None
    # Internal hosts the client may contact (None: no check, for callers that talk only to
    # registries they chose). With them, every connection is judged as it is made, the
    # registry's own included; a realm or redirect to another host is also judged before it is
    # followed.
    allowed_hosts: frozenset[str] | None = None
    # How names are resolved for those checks and connections.
    resolver: Resolver = system_resolver
    # Why there is no login, when a registry asks for one (e.g. it is withheld from this organization).
    login_hint: str | None = None
    _authorization: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        transport = None if self.allowed_hosts is None else EgressCheckedTransport(self.allowed_hosts, self.resolver)
        self._http = httpx.Client(timeout=self.timeout, follow_redirects=False, transport=transport)

    def close(self) -> None:
        self._http.close()

    # --- plumbing -------------------------------------------------------------------------------

    def base_url(self, registry: str) -> str:
        """Plain HTTP only for registries configured insecure and for loopback, as Docker does."""
        host = "registry-1.docker.io" if registry == "docker.io" else registry
        scheme = "http" if registry in self.insecure_registries or is_loopback_host(registry) else "https"
        return f"{scheme}://{host}"

    def _request(self, method: str, ref: ImageReference, path: str, *, actions: str = "pull", **kwargs: Any) -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base_url(ref.registry)}/v2/{ref.repository}/{path}"
        scope = f"repository:{ref.repository}:{actions}"
        headers = dict(kwargs.pop("headers", {}) or {})
        if (ref.registry, scope) in self._authorization:
            headers["Authorization"] = self._authorization[(ref.registry, scope)]
        response = self._send(method, url, ref, headers=headers, **kwargs)
        if response.status_code == 401:
            headers["Authorization"] = self._authorization[(ref.registry, scope)] = self._authorize(ref, scope, response)
            response = self._send(method, url, ref, headers=headers, **kwargs)
            if response.status_code == 401:
                raise RegistryAuthError(
                    f"Registry {ref.registry} refused the credentials for {ref.name} (HTTP 401).",
                    hint="Check VEXXY_REGISTRY_USERNAME / VEXXY_REGISTRY_PASSWORD and that the account may pull this repository.",
                )
        if response.status_code == 403:
            raise RegistryAuthError(
                f"Registry {ref.registry} denied access to {ref.name} (HTTP 403).",
                hint="The account is known but lacks permission on this repository.",
            )
        return response

    def _send(
        self, method: str, url: str, ref: ImageReference, *, limit: int = MAX_DOCUMENT_BYTES, **kwargs: Any
    ) -> httpx.Response:
        """One request whose body is read only up to `limit` bytes: a registry is someone else's server."""
        try:
            with self._open(method, url, ref, **kwargs) as streamed:
                body = _read_bounded(streamed, limit, f"Registry {ref.registry}", url)
                return httpx.Response(streamed.status_code, headers=streamed.headers, content=body, request=streamed.request)
        except httpx.TimeoutException as exc:
            raise RegistryUnavailable(
                f"Registry {ref.registry} did not answer within {self.timeout:.0f} s ({exc.__class__.__name__}).",
                hint="Check that the registry is up, or raise the timeout.",
            ) from exc
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(
                f"Registry {ref.registry} is unreachable: {exc}.",
                hint="Check the host and port in the reference and that the registry is running.",
            ) from exc

    @contextmanager
    def _open(self, method: str, url: str, ref: ImageReference, **kwargs: Any) -> Iterator[httpx.Response]:
        """Stream one answer, following at most MAX_REDIRECTS redirects, each to a host that may be contacted.

        The Authorization header never leaves the registry's own origin (blob storage behind a
        redirect has its own signed URL)."""
        origin = urlsplit(url)[:2]
        headers = dict(kwargs.pop("headers", {}) or {})
        for _ in range(MAX_REDIRECTS + 1):
            with self._http.stream(method, url, headers=headers, **kwargs) as response:
                location = response.headers.get("Location")
                if response.status_code not in _REDIRECTS or not location:
                    yield response
                    return
            url = urljoin(url, location)
            self._check_host(url, ref, "redirected")
            if urlsplit(url)[:2] != origin:
                headers.pop("Authorization", None)
            if response.status_code == 303:
                method = "GET"
        raise RegistryError(f"Registry {ref.registry} redirected more than {MAX_REDIRECTS} times for {ref}.")

    def _check_host(self, url: str, ref: ImageReference, why: str) -> None:
        """A URL the registry made us contact: http(s) only, and its host must pass the egress check."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RegistryError(f"Registry {ref.registry} {why} to {url!r}, which is not an http(s) URL.")
        netloc = parts.netloc.rsplit("@", 1)[-1].lower()
        if self.allowed_hosts is None or netloc == ref.registry.lower():
            return
        try:
            check_registry(netloc, self.allowed_hosts, self.resolver)
        except RegistryNotAllowed as exc:
            raise RegistryError(
                f"Registry {ref.registry} {why} to {netloc}, which cannot be contacted: {exc}",
                hint="A registry may send vexxy only to hosts on the internet, or to internal ones the operator allowed.",
            ) from exc

    def _login_hint(self, ref: ImageReference) -> str:
        if self.login_hint and not self.username:
            return self.login_hint
        if self.username:
            return (
                "The configured login is only sent to the registries in VEXXY_REGISTRY_CREDENTIALS_FOR; "
                f"add {ref.registry} there if the login is for it."
            )
        return "Set VEXXY_REGISTRY_USERNAME and VEXXY_REGISTRY_PASSWORD (and VEXXY_REGISTRY_CREDENTIALS_FOR)."

    def has_login_for(self, registry: str) -> bool:
        return bool(self.username) and (self.credential_registries is None or registry.lower() in self.credential_registries)

    def _authorize(self, ref: ImageReference, scope: str, challenge_response: httpx.Response) -> str:
        challenge = challenge_response.headers.get("WWW-Authenticate", "")
        scheme, _, params_text = challenge.partition(" ")
        if scheme.lower() == "basic":
            if not self.has_login_for(ref.registry):
                raise RegistryAuthError(
                    f"Registry {ref.registry} requires a login to read {ref.name}.", hint=self._login_hint(ref)
                )
            return self._basic()
        if scheme.lower() != "bearer":
            raise RegistryAuthError(f"Registry {ref.registry} asked for unsupported authentication {challenge!r}.")
        params = dict(_CHALLENGE_PARAM.findall(params_text))
        realm = params.get("realm")
        if not realm:
            raise RegistryAuthError(f"Registry {ref.registry} sent a bearer challenge without a realm: {challenge!r}.")
        self._check_host(realm, ref, "sent its token request")
        query = {"scope": params.get("scope", scope)}
        if params.get("service"):
            query["service"] = params["service"]
        headers = {"Authorization": self._basic()} if self.has_login_for(ref.registry) else {}
        try:
            with self._open("GET", realm, ref, params=query, headers=headers) as streamed:
                body = _read_bounded(streamed, MAX_TOKEN_BYTES, f"Token service of registry {ref.registry}", realm)
                response = httpx.Response(streamed.status_code, headers=streamed.headers, content=body)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(f"Token service {realm} of registry {ref.registry} is unreachable: {exc}.") from exc
        if response.status_code in (401, 403):
            raise RegistryAuthError(
                f"Token service of registry {ref.registry} refused the credentials for {ref.name} (HTTP {response.status_code}).",
                hint="Check VEXXY_REGISTRY_USERNAME / VEXXY_REGISTRY_PASSWORD.",
            )
        if response.status_code != 200:
            raise RegistryError(f"Token service of registry {ref.registry} answered HTTP {response.status_code}.")
        try:
            body = response.json()
        except ValueError as exc:
            raise RegistryAuthError(f"Token service of registry {ref.registry} answered something that is not JSON.") from exc
        token = isinstance(body, dict) and (body.get("token") or body.get("access_token"))
        if not token:
            raise RegistryAuthError(f"Token service of registry {ref.registry} returned no token.")
        return f"Bearer {token}"

    def _basic(self) -> str:
        credentials = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(credentials).decode()

    def _check(self, response: httpx.Response, ref: ImageReference, what: str) -> None:
        if response.status_code == 404:
            raise ImageNotFound(
                f"{what} not found in registry {ref.registry}: {ref}.",
                hint="Check the repository name and tag (or digest), and that the image was pushed.",
            )
        if response.status_code >= 500:
            raise RegistryUnavailable(
                f"Registry {ref.registry} failed while reading {what.lower()} of {ref} (HTTP {response.status_code}).",
                hint="The registry is having trouble; try again later.",
            )
        if response.status_code >= 400:
            raise RegistryError(
                f"Registry {ref.registry} answered HTTP {response.status_code} for {what.lower()} of {ref}: {response.text[:200]}"
            )

    # --- reading --------------------------------------------------------------------------------

    def get_manifest(self, ref: ImageReference, selector: str | None = None) -> tuple[bytes, str, str]:
        """Return (raw bytes, media type, digest) of the manifest or index `selector` points at."""
        selector = selector or ref.selector
        response = self._request("GET", ref, f"manifests/{selector}", headers={"Accept": ACCEPT_MANIFESTS})
        self._check(response, ref, "Image manifest")
        raw = response.content
        digest = sha256_digest(raw)
        if selector.startswith("sha256:") and digest != selector:
            raise RegistryError(f"Registry {ref.registry} returned a manifest whose digest {digest} is not {selector}.")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise UnsupportedManifest(f"Registry {ref.registry} returned a manifest for {ref} that is not JSON.") from exc
        if not isinstance(document, dict):
            raise UnsupportedManifest(f"Registry {ref.registry} returned a manifest for {ref} that is not a JSON object.")
        media_type = document.get("mediaType") or media_type
        if media_type not in INDEX_TYPES + MANIFEST_TYPES:
            if document.get("manifests"):
                media_type = INDEX_TYPES[0]
            elif document.get("layers") and document.get("config"):
                media_type = MANIFEST_TYPES[0]
            else:
                raise UnsupportedManifest(
                    f"Image {ref} has an unsupported manifest type {media_type!r}.",
                    hint="vexxy reads OCI and Docker v2 (schema 2) images; re-push legacy schema 1 images with a current tool.",
                )
        return raw, media_type, digest

    def tags_page(self, ref: ImageReference, last: str | None = None, n: int = 100) -> tuple[list[str], str | None]:
        """One page of up to `n` tags after `last` in lexical order, and the `last` of the next page (None: no more).

        Registries that implement the spec's `n`/`last` pagination answer one page; older ones (Distribution
        2.x among them) ignore both and answer every tag, unsorted, so the page is cut here. Either way
        `last` is a cursor that survives restarts.
        """
        query = f"n={n}" + (f"&last={quote(last, safe='')}" if last else "")
        response = self._request("GET", ref, f"tags/list?{query}")
        self._check(response, ref, "Tag list")
        try:
            tags = list((response.json() or {}).get("tags") or [])
        except ValueError as exc:
            raise RegistryError(f"Registry {ref.registry} returned a tag list for {ref.name} that is not JSON.") from exc
        after = sorted(tag for tag in tags if last is None or tag > last)
        more = 'rel="next"' in response.headers.get("Link", "") or len(after) > n
        page = after[:n]
        return page, (page[-1] if more and page else None)

    def manifest_digest(self, ref: ImageReference) -> str:
        """The digest a tag points at, from a HEAD request (the manifest is read only if no digest header comes back)."""
        response = self._request("HEAD", ref, f"manifests/{ref.selector}", headers={"Accept": ACCEPT_MANIFESTS})
        self._check(response, ref, "Image manifest")
        digest = response.headers.get("Docker-Content-Digest", "")
        if digest.startswith("sha256:") and len(digest) == 71:
            return digest
        return self.get_manifest(ref)[2]

    def get_blob(self, ref: ImageReference, digest: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
        """A small blob (a config, an attestation), read whole; layers are streamed with `stream_blob`."""
        response = self._request("GET", ref, f"blobs/{digest}", limit=limit)
        self._check(response, ref, f"Blob {digest}")
        data = response.content
        if sha256_digest(data) != digest:
            raise RegistryError(f"Blob {digest} of {ref.name} does not match its digest; the registry data is corrupt.")
        return data

    def stream_blob(self, ref: ImageReference, digest: str, sink) -> int:
        """Write a (possibly large) blob to `sink` chunk by chunk, verifying its digest; returns its size."""
        url = f"{self.base_url(ref.registry)}/v2/{ref.repository}/blobs/{digest}"
        self._request("HEAD", ref, f"blobs/{digest}")  # authenticates once, before streaming
        authorization = self._authorization.get((ref.registry, f"repository:{ref.repository}:pull"))
        headers = {"Authorization": authorization} if authorization else {}
        hasher, size = hashlib.sha256(), 0
        with self._open("GET", url, ref, headers=headers) as response:
            self._check(response, ref, f"Blob {digest}")
            for chunk in response.iter_bytes(1 << 20):
                hasher.update(chunk)
                size += len(chunk)
                sink.write(chunk)
        if "sha256:" + hasher.hexdigest() != digest:
            raise RegistryError(f"Blob {digest} of {ref.name} does not match its digest; the registry data is corrupt.")
        return size

    def resolve(
        self, ref: ImageReference, platform: Platform | None = Platform(), default: Platform = Platform()
    ) -> ResolvedImage:
        """Pin a reference to one platform's manifest and read its config and layers.

        `platform=None` accepts a single-platform manifest as it is (its digest already pins the
        content) and picks `default` from an index.
        """
        raw, media_type, digest = self.get_manifest(ref)
        index_digest = None
        document = json.loads(raw)
        if media_type in INDEX_TYPES:
            index_digest = digest
            wanted = platform or default
            candidates = [m for m in document.get("manifests", []) if wanted.matches(m.get("platform") or {})]
            if not candidates:
                available = sorted(
                    str(Platform(p.get("os", "?"), p.get("architecture", "?"), p.get("variant")))
                    for p in (m.get("platform") or {} for m in document.get("manifests", []))
                    if p.get("os") != "unknown"
                )
                raise PlatformNotFound(
                    f"Image {ref} has no manifest for platform {wanted}; it offers {', '.join(available) or 'none'}.",
                    hint="Choose one of those with VEXXY_PLATFORM (or --platform).",
                )
            raw, media_type, digest = self.get_manifest(ref, candidates[0]["digest"])
            document = json.loads(raw)
            if media_type not in MANIFEST_TYPES:
                raise UnsupportedManifest(f"Image {ref}: the {wanted} entry of its index is not an image manifest.")
        config_digest = document["config"]["digest"]
        config_blob = json.loads(self.get_blob(ref, config_digest))
        image_platform = Platform(config_blob.get("os", ""), config_blob.get("architecture", ""), config_blob.get("variant"))
        if (
            index_digest is None
            and platform is not None
            and not platform.matches(
                {"os": image_platform.os, "architecture": image_platform.architecture, "variant": image_platform.variant}
            )
        ):
            raise PlatformNotFound(
                f"Image {ref} is built for {image_platform}, not for {platform}.",
                hint=f"Analyze it as {image_platform} with VEXXY_PLATFORM={image_platform} (or --platform).",
            )
        return ResolvedImage(
            reference=str(ref),
            name=ref.name,
            manifest_digest=digest,
            media_type=media_type,
            platform=image_platform,
            config_digest=config_digest,
            config=ImageConfig.from_config_blob(config_blob),
            layers=[
                Layer(layer["digest"], int(layer["size"]), layer.get("mediaType", "")) for layer in document.get("layers", [])
            ],
            index_digest=index_digest,
            created=config_blob.get("created"),
        )

    # --- writing (used to publish the images vexxy builds for demos and tests) ------------------

    def push_blob(self, ref: ImageReference, data: bytes) -> str:
        digest = sha256_digest(data)
        head = self._request("HEAD", ref, f"blobs/{digest}", actions="pull,push")
        if head.status_code == 200:
            return digest
        start = self._request("POST", ref, "blobs/uploads/", actions="pull,push")
        if start.status_code not in (201, 202):
            raise RegistryError(f"Registry {ref.registry} refused an upload to {ref.name} (HTTP {start.status_code}).")
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.base_url(ref.registry) + location
        separator = "&" if "?" in location else "?"
        done = self._request(
            "PUT",
            ref,
            f"{location}{separator}digest={digest}",
            actions="pull,push",
            content=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        if done.status_code != 201:
            raise RegistryError(f"Registry {ref.registry} rejected blob {digest} (HTTP {done.status_code}): {done.text[:200]}")
        return digest

    def push_manifest(self, ref: ImageReference, raw: bytes, media_type: str, tag: str | None = None) -> str:
        digest = sha256_digest(raw)
        response = self._request(
            "PUT", ref, f"manifests/{tag or digest}", actions="pull,push", content=raw, headers={"Content-Type": media_type}
        )
        if response.status_code != 201:
            raise RegistryError(
                f"Registry {ref.registry} rejected the manifest for {ref.name} "
                f"(HTTP {response.status_code}): {response.text[:300]}"
            )
        return digest
