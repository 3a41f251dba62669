# SPDX-License-Identifier: BSD-2-Clause
"""Prepares a home for the real ccproxy that talks to nothing but the fake upstream.

    <venv>/bin/python3 ccproxy_home.py DIR --port 18080 --upstream http://127.0.0.1:18081
    HOME=DIR/home <venv>/bin/ccproxy serve -c DIR/ccproxy.toml

Run it with the venv's python: it copies ccproxy's own fallback data. What ccproxy 0.2.10
would otherwise fetch or look for at start-up, and the setting that stops it:

- the Claude CLI (its version and request headers, via npx when it is not installed):
  [binary] fallback_enabled = false, package_manager_only = false, and the CLI headers
  cached under the version "unknown" (ccproxy's packaged fallback file), so detection
  neither runs npx nor the CLI;
- OAuth credentials for claude_api: a credentials file with a made-up token that
  only the fake upstream ever sees (DIR/home/.claude/.credentials.json);
- with --provider codex, the codex provider (the OpenAI Responses API at
  UPSTREAM/v1/responses): its OAuth credentials (DIR/home/.codex/auth.json, unsigned JWTs
  that expire in 2100) and the Codex CLI headers and instructions from ccproxy's packaged
  fallback, cached under the version "unknown" as for Claude;
- with --provider copilot, the copilot provider (OpenAI Chat Completions at
  UPSTREAM/v1/chat/completions): a GitHub OAuth token and a Copilot token that expires in
  2100, whose API endpoint is the fake too (DIR/home/.config/copilot/credentials.json), so
  that it never asks GitHub for one;
- the LiteLLM price table: [plugins.pricing] source_url at the fake (/model_prices.json);
- the GitHub release check: [scheduler] version_check_enabled = false.
"""
import argparse
import base64
import json
import shutil
from pathlib import Path

CREDENTIALS = {"claudeAiOauth": {
    "accessToken": "sk-ant-oat01-local-fake-upstream-only",
    "refreshToken": "sk-ant-ort01-local-fake-upstream-only",
    "expiresAt": 4102444800000,  # 2100-01-01
    "scopes": ["user:inference", "user:profile"],
    "subscriptionType": "max",
}}


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def fake_jwt(claims):
    """An unsigned JWT (alg none): ccproxy only decodes its claims (exp, account)."""
    head = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{head}.{_b64(json.dumps(claims).encode())}.{_b64(b'fake')}"


def codex_auth():
    claims = {"exp": 4102444800, "email": "fake@localhost",
              "https://api.openai.com/auth": {"chatgpt_account_id": "acct-fake-upstream-only",
                                              "chatgpt_plan_type": "pro"}}
    return {"OPENAI_API_KEY": None, "last_refresh": "2026-01-01T00:00:00Z", "tokens": {
        "id_token": fake_jwt(claims), "access_token": fake_jwt(claims),
        "refresh_token": "local-fake-upstream-only", "account_id": "acct-fake-upstream-only"}}


def copilot_credentials(upstream):
    return {"account_type": "individual",
            "oauth_token": {"access_token": "gho_local-fake-upstream-only",
                            "token_type": "bearer", "scope": "read:user",
                            "created_at": 1767225600},
            "copilot_token": {"token": "tid=local-fake-upstream-only;exp=4102444800",
                              "expires_at": 4102444800, "refresh_in": 1500,
                              "endpoints": {"api": upstream + "/v1"}}}


# The plugins each provider needs, beyond itself.
PROVIDERS = {"codex": ["codex", "oauth_codex"], "copilot": ["copilot"]}


def config(a, home):
    plugins = ["claude_api", "oauth_claude", "pricing"]
    for name in a.provider:
        plugins += PROVIDERS[name]
    plugins += a.plugin
    sections = {
        "": {"enabled_plugins": plugins},
        "server": {"host": "127.0.0.1", "port": a.port, "workers": a.workers},
        "binary": {"fallback_enabled": False, "package_manager_only": False},
        "scheduler": {"version_check_enabled": False, "pricing_update_enabled": False},
        "plugins.claude_api": {"base_url": a.upstream},
        "plugins.pricing": {"source_url": a.upstream + "/model_prices.json",
                            "cache_dir": str(home / ".cache" / "ccproxy")},
    }
    for name in a.provider:
        sections[f"plugins.{name}"] = {"base_url": a.upstream + "/v1"}
    lines = []
    for name, values in sections.items():
        if name:
            lines.append(f"\n[{name}]")
        lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description="a ccproxy home that only talks to the fakes")
    ap.add_argument("dir", type=Path)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--upstream", required=True, help="the fake upstream's base URL")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--provider", action="append", default=[], choices=sorted(PROVIDERS),
                    help="another provider to enable against the fake (routes /codex/..., "
                    "/copilot/...); repeatable")
    ap.add_argument("--plugin", action="append", default=[],
                    help="another plugin to enable (metrics, usdt_metrics); repeatable")
    a = ap.parse_args()

    from importlib.resources import files

    home = a.dir / "home"
    cache = home / ".cache" / "ccproxy"
    cache.mkdir(parents=True, exist_ok=True)
    (home / ".claude").mkdir(exist_ok=True)
    (home / ".claude" / ".credentials.json").write_text(json.dumps(CREDENTIALS))
    fallback = files("ccproxy") / "data" / "claude_headers_fallback.json"
    shutil.copy(str(fallback), cache / "claude_headers_unknown.json")
    if "codex" in a.provider:
        (home / ".codex").mkdir(exist_ok=True)
        (home / ".codex" / "auth.json").write_text(json.dumps(codex_auth()))
        fallback = files("ccproxy") / "data" / "codex_headers_fallback.json"
        shutil.copy(str(fallback), cache / "codex_headers_unknown.json")
    if "copilot" in a.provider:
        (home / ".config" / "copilot").mkdir(parents=True, exist_ok=True)
        (home / ".config" / "copilot" / "credentials.json").write_text(
            json.dumps(copilot_credentials(a.upstream)))
    (a.dir / "ccproxy.toml").write_text(config(a, home))


if __name__ == "__main__":
    main()
