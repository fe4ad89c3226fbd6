"""dot-setup's sign-in to one server: log in, keep it fresh, log out.

`Account(paths, mcp_url, region)` finds the authorization server by discovery, reuses the stored
session while its access token is valid, refreshes it (with the stored absolute expiry, so a
restart an hour later refreshes silently instead of opening the browser again), and signs in
again only when the refresh token is no longer honoured.

How to sign in: the loopback redirect when a browser can be opened; the device grant with
`--no-browser`, over SSH, or with no display. The URL is always printed too, because
`webbrowser` can fail silently.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx2

from dot_setup.errors import DotSetupError
from dot_setup.paths import Paths
from dot_setup.signin import oauth
from dot_setup.signin.store import ClientCache, Session, Store, open_store
from dot_setup.ui.console import OUT

REFRESH_MARGIN = 60  # seconds before expiry at which a token counts as expired


@dataclass
class SignInOptions:
    no_browser: bool = False
    # A scripted browser (the demo, tests): called with the authorization URL, or with the
    # device verification URL when the device grant is used.
    browser: Callable[[str], None] | None = None
    timeout: float = 600.0


def ssh_session(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))


def browser_available(env: Mapping[str, str], os_name: str) -> bool:
    """Can a browser window open here? (webbrowser can fall back to a text browser in this
    terminal on a display-less Linux, which would take over the wizard's screen.)"""
    if env.get("BROWSER"):
        return True
    if ssh_session(env):
        return False
    if os_name in ("macos", "windows"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


class Account:
    def __init__(self, paths: Paths, mcp_url: str, region: str, store: Store | None = None):
        self.paths = paths
        self.mcp_url = mcp_url
        self.region = region
        self._store = store
        self._disc: oauth.Discovery | None = None
        self.clock: Callable[[], float] = time.time
        self.revoked = False  # set by logout(): did the server confirm the revocation?

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.paths)
        return self._store

    @property
    def issuer_guess(self) -> str:
        return oauth.origin_of(self.mcp_url)

    def discovery(self) -> oauth.Discovery:
        if self._disc is None:
            with oauth.client() as http:
                self._disc = oauth.discover(http, self.mcp_url)
        return self._disc

    def current(self) -> Session | None:
        """The stored session for this server, without any network call."""
        return self.store.load(self.issuer_guess)

    def access_token(self) -> str | None:
        """A valid access token (refreshed if needed), or None when a sign-in is needed."""
        session = self.current()
        if session is None:
            return None
        if session.expires_at - REFRESH_MARGIN > self.clock():
            return session.access_token
        if not session.refresh_token:
            return None
        disc = self.discovery()
        with oauth.client() as http:
            tokens = oauth.refresh(
                http, disc, session.client_id, session.refresh_token, clock=self.clock
            )
        if tokens is None:
            self.store.delete(session.issuer)
            return None
        session.access_token, session.refresh_token = tokens.access_token, tokens.refresh_token
        session.expires_at = tokens.expires_at
        session.register_secrets()
        self.store.save(session)
        return session.access_token

    def ensure(self, options: SignInOptions) -> str:
        token = self.access_token()
        if token:
            return token
        return self.login(options).access_token

    def _client_id(self, http: httpx2.Client, disc: oauth.Discovery) -> str:
        cache = ClientCache(self.paths)
        client_id = cache.get(disc.server.issuer)
        if not client_id:
            client_id = oauth.register(http, disc.server)
            cache.put(disc.server.issuer, client_id)
        return client_id

    def login(self, options: SignInOptions) -> Session:
        disc = self.discovery()
        with oauth.client() as http:
            client_id = self._client_id(http, disc)
            try:
                tokens = self._sign_in(http, disc, client_id, options)
            except oauth.UnknownClient:
                # The server lost its registrations (a reset database): register again, once.
                ClientCache(self.paths).drop(disc.server.issuer)
                client_id = self._client_id(http, disc)
                tokens = self._sign_in(http, disc, client_id, options)
        from dot_setup.signin import api

        for secret in (tokens.access_token, tokens.refresh_token):
            oauth_redact(secret)
        account = api.me(self.mcp_url, tokens.access_token)
        session = Session(
            issuer=self.issuer_guess,
            resource=disc.resource,
            mcp_url=self.mcp_url,
            region=str(account.get("region") or self.region),
            client_id=client_id,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            scope=tokens.scope,
            account=str(account.get("email", "")),
            signed_in_at=int(self.clock()),
        )
        self.store.save(session)
        return session

    def _sign_in(
        self,
        http: httpx2.Client,
        disc: oauth.Discovery,
        client_id: str,
        options: SignInOptions,
    ) -> oauth.Tokens:
        use_device = options.no_browser or (
            options.browser is None and not browser_available(self.paths.env, self.paths.os_name)
        )
        if use_device and disc.server.device_authorization_endpoint:
            return self._device(http, disc, client_id, options)
        return oauth.authorize_loopback(
            http, disc, client_id, self._opener(options), timeout=options.timeout, clock=self.clock
        )

    def _opener(self, options: SignInOptions) -> Callable[[str], None]:
        def open_url(url: str) -> None:
            OUT.message("Sign in to continue. Open this URL in your browser:")
            OUT.message(f"  {url}")
            if options.browser is not None:
                options.browser(url)
                return
            if browser_available(self.paths.env, self.paths.os_name):
                import webbrowser

                if webbrowser.open(url):
                    OUT.message("(a browser window was opened; waiting for you to sign in)")
                    return
            OUT.message("(waiting for the sign-in to finish in the browser; Ctrl-C cancels)")

        return open_url

    def _device(
        self,
        http: httpx2.Client,
        disc: oauth.Discovery,
        client_id: str,
        options: SignInOptions,
    ) -> oauth.Tokens:
        start = oauth.start_device(http, disc, client_id)
        OUT.message("Sign in to continue. On any device with a browser, open:")
        OUT.message(f"  {start.verification_uri_complete or start.verification_uri}")
        OUT.message(f"and check that it shows the code  {start.user_code}")
        OUT.message(f"(the code expires in {start.expires_in // 60} minutes; Ctrl-C cancels)")
        if options.browser is not None:
            options.browser(start.verification_uri_complete or start.verification_uri)
        return oauth.poll_device(http, disc, client_id, start, clock=self.clock)

    def logout(self) -> Session | None:
        """Revoke the refresh token at the server (best effort) and forget the session."""
        session = self.current()
        if session is None:
            return None
        self.revoked = False
        try:
            disc = self.discovery()
            with oauth.client() as http:
                self.revoked = oauth.revoke(http, disc, session.client_id, session.refresh_token)
        except DotSetupError as exc:  # offline logout still forgets the local session
            OUT.warn(f"the server was not told ({exc.message}); the sign-in is forgotten here")
        self.store.delete(session.issuer)
        return session


def oauth_redact(secret: str) -> None:
    from dot_setup.secrets import REDACT

    REDACT.add(secret)
