"""The LLM gateway's own rules, loaded by LiteLLM from its configuration (rendered by steps/40-files.sh):

    general_settings:
      custom_auth: oh_llm_gateway.user_api_key_auth
    litellm_settings:
      callbacks: ["oh_llm_gateway.usage_logger"]

- Keys (docs/CONTRACTS.md, "LLM gateway keys"): each person's key is "sk-oh-<slug>-<mac>", the mac an HMAC of the
  slug with the master key, so checking one needs no database. A user key works on the model routes only. The master
  key works only from the host itself (loopback): a sandbox that read it somewhere still gets nothing.
- Revocation: the people of the Cognito user pool are listed in the background (ListUsers) every
  OH_LLM_REVOCATION_REFRESH_SECONDS (default 60); the keys of people disabled in, or removed from, the pool are refused.
  The pool is OH_LLM_USER_POOL_ID, or the one the edge configuration parameter OH_LLM_EDGE_CONFIG_PARAMETER names.
- Limits (optional): requests and tokens per minute per person, counted in this process; a monthly spend per
  person above which a "llm_spend_alert" record is written once a month (a CloudWatch alarm watches for it).
- Usage: one JSON line per model call on stdout ("llm_usage": person, model, tokens, estimated cost; never a prompt
  or a completion), which the host ships to CloudWatch Logs.

LiteLLM loads this file once for custom_auth and once more for callbacks (get_instance_fn executes the file each
time), so the state both need lives in one object registered in sys.modules.
"""

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import threading
import time
import types
from collections import deque

from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth

USER_KEY_PREFIX = "sk-oh-"
USER_KEY_DOMAIN = "oh-llm-user-key:v1:"
USER_KEY_PATTERN = re.compile(r"\Ask-oh-([a-z2-7]{16})-([A-Za-z0-9_-]{43})\Z")
SLUG_HASH_PREFIX = "oh-user:"
SLUG_PATTERN = re.compile(r"\A[a-z2-7]{16}\Z")

# The OpenAI- and Anthropic-compatible model routes a person's agent uses; every admin, key, user, team, spend and
# config route of LiteLLM stays the master key's.
MODEL_ROUTES = frozenset(
    {
        "/chat/completions",
        "/v1/chat/completions",
        "/completions",
        "/v1/completions",
        "/responses",
        "/v1/responses",
        "/v1/messages",
        "/v1/messages/count_tokens",
        "/embeddings",
        "/v1/embeddings",
        "/models",
        "/v1/models",
        "/model/info",
        "/v1/model/info",
    }
)
LOOPBACK = frozenset({"127.0.0.1", "::1"})
WINDOW_SECONDS = 60.0
STATE_MODULE = "oh_llm_gateway_shared_state"


def user_slug(sub):
    """The slug of a Cognito sub (docs/CONTRACTS.md, "Names and keys"), as packages/contracts computes it."""
    digest = hashlib.sha256((SLUG_HASH_PREFIX + sub).encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").lower().rstrip("=")[:16]


def user_key(master_key, slug):
    """'sk-oh-' + slug + '-' + base64url(HMAC-SHA256(master key as UTF-8, 'oh-llm-user-key:v1:' + slug)), no padding."""
    mac = hmac.new(master_key.encode("utf-8"), (USER_KEY_DOMAIN + slug).encode("utf-8"), hashlib.sha256).digest()
    return USER_KEY_PREFIX + slug + "-" + base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def verify_user_key(master_key, key):
    """The slug whose key this is, or None (another shape, another master key, a changed character)."""
    if not isinstance(key, str):
        return None
    match = USER_KEY_PATTERN.match(key)
    if not match:
        return None
    slug = match.group(1)
    # Timing attack: compare_digest takes the same time wherever the first wrong character is.
    return slug if hmac.compare_digest(user_key(master_key, slug).encode("ascii"), key.encode("ascii")) else None


def log_record(record):
    """One JSON line on stdout, which the awslogs driver ships to the host log group."""
    sys.stdout.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
    sys.stdout.flush()


def _positive_number(env, name):
    raw = env.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("%s: %r is not a number (expected a positive number, or nothing for no limit)" % (name, raw))
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError("%s: %r is not a positive number (expected a positive number, or nothing for no limit)" % (name, raw))
    return value


class Settings:
    """What the gateway reads from its environment (llm-gateway.env and compose.yaml), checked once."""

    def __init__(self, env):
        self.master_key = env.get("LITELLM_MASTER_KEY", "")
        if not self.master_key.startswith("sk-") or len(self.master_key) < 20:
            raise ValueError("LITELLM_MASTER_KEY: not a gateway key (expected sk- followed by the llm-gateway-key secret)")
        self.requests_per_minute = _positive_number(env, "OH_LLM_REQUESTS_PER_MINUTE")
        self.tokens_per_minute = _positive_number(env, "OH_LLM_TOKENS_PER_MINUTE")
        self.monthly_spend_alert_usd = _positive_number(env, "OH_LLM_MONTHLY_SPEND_ALERT_USD")
        self.user_pool_id = env.get("OH_LLM_USER_POOL_ID", "").strip()
        if self.user_pool_id and not re.match(r"\A[a-z]{2}(-[a-z]+)+-[0-9]_[A-Za-z0-9]+\Z", self.user_pool_id):
            raise ValueError(
                "OH_LLM_USER_POOL_ID: %r is not a Cognito user pool id (expected such as us-east-1_AbC123xyz)" % self.user_pool_id
            )
        self.user_pool_region = self.user_pool_id.split("_", 1)[0] if self.user_pool_id else ""
        # Without a pool id, the pool is the one the edge configuration names (SSM, written by the edge stack, which a
        # first deployment applies after the host's stack): read in the background until it exists.
        self.edge_config_parameter = env.get("OH_LLM_EDGE_CONFIG_PARAMETER", "").strip()
        if self.edge_config_parameter and not re.match(r"\A/[A-Za-z0-9_./-]+\Z", self.edge_config_parameter):
            raise ValueError(
                "OH_LLM_EDGE_CONFIG_PARAMETER: %r is not an SSM parameter name (expected such as /openhands/prod/edge/config)"
                % self.edge_config_parameter
            )
        self.edge_region = env.get("OH_LLM_EDGE_REGION", "").strip() or "us-east-1"
        self.revocation_refresh_seconds = _positive_number(env, "OH_LLM_REVOCATION_REFRESH_SECONDS") or 60.0
        self.state_dir = env.get("OH_LLM_STATE_DIR", "").strip()


class PoolPeople:
    """Who may use the gateway, from the user pool (no database of our own): the slugs of the people it lists as
    enabled. Disabled people and people removed from the pool are refused; someone added since the last list is looked
    up at once (at most every ON_DEMAND_SECONDS). Until a first list has been read, every well-formed key is accepted
    (a missing permission must not take the models away from everyone; it is logged at every failed refresh)."""

    ON_DEMAND_SECONDS = 10.0

    def __init__(self, list_people, now=time.time):
        self._list = list_people
        self._now = now
        self._lock = threading.Lock()
        self.enabled = frozenset()
        self.disabled = frozenset()
        self.loaded = False
        self.refreshed_at = None
        self.asked_at = None
        self.last_error = None

    def refresh(self):
        self.asked_at = self._now()
        try:
            listed = [(user_slug(sub), bool(enabled)) for sub, enabled in self._list()]
        except Exception as error:  # noqa: BLE001 - any failure keeps the last list and is logged
            self.last_error = str(error)
            log_record({"event": "llm_revocation_refresh_failed", "error": str(error)[:300], "kept": len(self.enabled)})
            return False
        enabled = frozenset(slug for slug, on in listed if on)
        disabled = frozenset(slug for slug, on in listed if not on)
        with self._lock:
            if (enabled, disabled) != (self.enabled, self.disabled) or not self.loaded:
                log_record({"event": "llm_revocation_list", "enabled": len(enabled), "disabled": len(disabled)})
            self.enabled, self.disabled, self.loaded = enabled, disabled, True
            self.refreshed_at = self._now()
            self.last_error = None
        return True

    def standing(self, slug):
        """'enabled', 'disabled', 'unknown' (not in the pool's list) or 'unchecked' (no list read yet)."""
        if not self.loaded:
            return "unchecked"
        if slug in self.enabled:
            return "enabled"
        return "disabled" if slug in self.disabled else "unknown"

    def may_ask_now(self):
        return self.asked_at is None or self._now() - self.asked_at >= self.ON_DEMAND_SECONDS


def edge_config_user_pool(parameter, region, client=None):
    """A function answering the userPoolId of the edge configuration parameter (docs/CONTRACTS.md, "Edge configuration")."""

    def read_pool_id():
        ssm = client
        if ssm is None:
            import boto3  # the LiteLLM image has it for Bedrock; the instance role may read this parameter

            ssm = boto3.client("ssm", region_name=region)
        value = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
        pool_id = json.loads(value).get("userPoolId", "")
        if not isinstance(pool_id, str) or not re.match(r"\A[a-z]{2}(-[a-z]+)+-[0-9]_[A-Za-z0-9]+\Z", pool_id):
            raise ValueError("%s holds no Cognito userPoolId" % parameter)
        return pool_id

    return read_pool_id


def cognito_pool_people(user_pool_id, region, client=None):
    """A function listing (sub, enabled) of everyone in the pool (ListUsers, every page of 60).
    `user_pool_id` is the id, or a function answering it (asked until it answers)."""
    known = {"id": user_pool_id if isinstance(user_pool_id, str) else None}

    def list_people():
        if known["id"] is None:
            known["id"] = user_pool_id()
        pool_id = known["id"]
        cognito = client
        if cognito is None:
            import boto3  # the LiteLLM image has it for Bedrock; the instance role grants cognito-idp:ListUsers

            cognito = boto3.client("cognito-idp", region_name=region or pool_id.split("_", 1)[0])
        people = []
        token = None
        while True:
            arguments = {"UserPoolId": pool_id, "AttributesToGet": ["sub"], "Limit": 60}
            if token:
                arguments["PaginationToken"] = token
            page = cognito.list_users(**arguments)
            for user in page.get("Users", []):
                subs = [a.get("Value") for a in user.get("Attributes", []) if a.get("Name") == "sub" and a.get("Value")]
                if subs:
                    people.append((subs[0], user.get("Enabled") is True))
            token = page.get("PaginationToken")
            if not token:
                return people

    return list_people


class PersonLimits:
    """Requests and tokens of the last minute and the month's spend, per person, in this process."""

    def __init__(self, settings, now=time.time):
        self.settings = settings
        self.now = now
        self._lock = threading.Lock()
        self._requests = {}
        self._tokens = {}
        self.month = None
        self.month_spend = {}
        self.alerted = set()
        self._load_month()

    def _state_file(self):
        return os.path.join(self.settings.state_dir, "spend.json") if self.settings.state_dir else None

    def _month_of(self, at):
        return datetime.datetime.fromtimestamp(at, datetime.timezone.utc).strftime("%Y-%m")

    def _load_month(self):
        self.month = self._month_of(self.now())
        path = self._state_file()
        if not path:
            return
        try:
            with open(path, encoding="utf-8") as handle:
                stored = json.load(handle)
        except (OSError, ValueError):
            return
        if isinstance(stored, dict) and stored.get("month") == self.month and isinstance(stored.get("spend"), dict):
            self.month_spend = {k: float(v) for k, v in stored["spend"].items() if isinstance(v, (int, float)) and SLUG_PATTERN.match(k)}
            self.alerted = {k for k in stored.get("alerted", []) if k in self.month_spend}

    def _save_month(self):
        path = self._state_file()
        if not path:
            return
        try:
            os.makedirs(self.settings.state_dir, exist_ok=True)
            temporary = path + ".tmp"
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump({"month": self.month, "spend": self.month_spend, "alerted": sorted(self.alerted)}, handle)
            os.replace(temporary, path)
        except OSError as error:
            log_record({"event": "llm_spend_state_not_saved", "error": str(error)[:300]})

    @staticmethod
    def _trim(queue, horizon):
        while queue and queue[0][0] <= horizon:
            queue.popleft()

    def check(self, slug):
        """None when the person may call now, else (limit name, message) for a 429."""
        now = self.now()
        horizon = now - WINDOW_SECONDS
        with self._lock:
            requests = self._requests.setdefault(slug, deque())
            tokens = self._tokens.setdefault(slug, deque())
            self._trim(requests, horizon)
            self._trim(tokens, horizon)
            rpm = self.settings.requests_per_minute
            if rpm is not None and len(requests) >= rpm:
                wait = max(1, int(requests[0][0] + WINDOW_SECONDS - now + 0.999))
                message = "%d model calls in the last minute reach the limit of %g per person (%s); try again in %d s"
                return ("requests_per_minute", message % (len(requests), rpm, "bedrock.perUser.requestsPerMinute", wait))
            tpm = self.settings.tokens_per_minute
            used = sum(count for _, count in tokens)
            if tpm is not None and used >= tpm:
                wait = max(1, int(tokens[0][0] + WINDOW_SECONDS - now + 0.999))
                message = "%d tokens in the last minute reach the limit of %g per person (%s); try again in %d s"
                return ("tokens_per_minute", message % (used, tpm, "bedrock.perUser.tokensPerMinute", wait))
            requests.append((now, 1))
        return None

    def record(self, slug, tokens, cost_usd):
        """Counts a finished call; answers an alert record when the month's spend just crossed the threshold."""
        now = self.now()
        with self._lock:
            if tokens > 0:
                self._tokens.setdefault(slug, deque()).append((now, tokens))
            month = self._month_of(now)
            if month != self.month:
                self.month, self.month_spend, self.alerted = month, {}, set()
            self.month_spend[slug] = self.month_spend.get(slug, 0.0) + max(0.0, cost_usd)
            threshold = self.settings.monthly_spend_alert_usd
            alert = None
            if threshold is not None and slug not in self.alerted and self.month_spend[slug] >= threshold:
                self.alerted.add(slug)
                spend = round(self.month_spend[slug], 6)
                alert = {"event": "llm_spend_alert", "user": slug, "month": month, "spend_usd": spend, "threshold_usd": threshold}
            if self.settings.state_dir:
                self._save_month()
        return alert


class GatewayState:
    def __init__(self, settings, people, limits):
        self.settings = settings
        self.people = people
        self.limits = limits
        self._thread = None

    def start_refreshing(self):
        """Reads the pool's people now and then every revocation_refresh_seconds, in a daemon thread."""
        if self._thread is not None or not (self.settings.user_pool_id or self.settings.edge_config_parameter):
            log_record({"event": "llm_revocation_off", "why": "neither OH_LLM_USER_POOL_ID nor OH_LLM_EDGE_CONFIG_PARAMETER is set"})
            return

        def loop():
            while True:
                self.people.refresh()
                time.sleep(self.settings.revocation_refresh_seconds)

        self._thread = threading.Thread(target=loop, name="oh-llm-revocation", daemon=True)
        self._thread.start()


def build_state(env, list_people=None, now=time.time):
    settings = Settings(env)
    if list_people is None:
        if settings.user_pool_id:
            list_people = cognito_pool_people(settings.user_pool_id, settings.user_pool_region)
        elif settings.edge_config_parameter:
            list_people = cognito_pool_people(edge_config_user_pool(settings.edge_config_parameter, settings.edge_region), "")
        else:
            list_people = lambda: []  # noqa: E731
    return GatewayState(settings, PoolPeople(list_people, now), PersonLimits(settings, now))


def shared_state():
    """The one GatewayState of this process, whichever copy of this file asks."""
    holder = sys.modules.get(STATE_MODULE)
    if holder is None:
        holder = types.ModuleType(STATE_MODULE)
        holder.state = build_state(os.environ)
        sys.modules[STATE_MODULE] = holder
        holder.state.start_refreshing()
    return holder.state


def _refuse(message, code, error_type="auth_error"):
    return ProxyException(message=message, type=error_type, param="None", code=code)


def _peer(request):
    client = getattr(request, "client", None)
    return getattr(client, "host", None) if client is not None else None


async def user_api_key_auth(request, api_key):
    """LiteLLM's custom_auth: every authenticated route of the proxy passes here first."""
    state = shared_state()
    route = request.url.path
    # LiteLLM strips "Bearer " before calling the hook; a header read another way may still carry it
    if isinstance(api_key, str) and api_key[:7].lower() == "bearer ":
        api_key = api_key[7:].strip()
    if not api_key:
        raise _refuse("Authentication Error, no LLM gateway key passed (Authorization: Bearer sk-oh-...)", 401)
    if hmac.compare_digest(api_key.encode("utf-8"), state.settings.master_key.encode("utf-8")):
        # Master key theft: the master key opens the admin routes only from the host itself, never from a bridge.
        if _peer(request) not in LOOPBACK:
            raise _refuse("Authentication Error, the master key is accepted from the host only; use your own key (sk-oh-...)", 401)
        return UserAPIKeyAuth(api_key=api_key, user_id="gateway-admin", user_role=LitellmUserRoles.PROXY_ADMIN)
    slug = verify_user_key(state.settings.master_key, api_key)
    # Impersonation and forgery: only a key derived from the master key for that very slug names a person.
    if slug is None:
        raise _refuse("Authentication Error, not a valid LLM gateway key", 401)
    # Privilege escalation: a person's key reaches the model routes and nothing of LiteLLM's administration.
    if route not in MODEL_ROUTES:
        raise _refuse("Authentication Error, a personal key works on the model routes only, not %s" % route[:100], 403)
    standing = state.people.standing(slug)
    if standing == "unknown" and state.people.may_ask_now():
        # someone added to the pool since the last list: ask Cognito now rather than refuse their first call
        await asyncio.to_thread(state.people.refresh)
        standing = state.people.standing(slug)
    # Revoked person: someone disabled in, or removed from, the user pool keeps no model access through a copied key.
    if standing == "disabled":
        raise _refuse("Authentication Error, the key of user %s is revoked: the person is disabled in the user pool" % slug, 401)
    if standing == "unknown":
        raise _refuse("Authentication Error, the key of user %s names nobody in the user pool (removed?)" % slug, 401)
    # Runaway agent: one person's loop cannot take the whole Bedrock quota of the team.
    over = state.limits.check(slug) if route not in ("/models", "/v1/models", "/model/info", "/v1/model/info") else None
    if over is not None:
        limit, message = over
        log_record({"event": "llm_limit", "user": slug, "limit": limit})
        raise _refuse("Rate limit: user %s: %s" % (slug, message), 429, "rate_limit_error")
    return UserAPIKeyAuth(api_key=api_key, user_id=slug, key_alias="user-" + slug, user_role=LitellmUserRoles.INTERNAL_USER)


def _usage_record(kwargs, status):
    payload = kwargs.get("standard_logging_object") or {}
    metadata = payload.get("metadata") or {}
    user = metadata.get("user_api_key_user_id") or "unknown"
    cost = payload.get("response_cost")
    if cost is None:
        cost = kwargs.get("response_cost")
    return {
        "event": "llm_usage",
        "status": status,
        "user": user,
        "model": payload.get("model_group") or payload.get("model") or kwargs.get("model") or "unknown",
        "input_tokens": int(payload.get("prompt_tokens") or 0),
        "output_tokens": int(payload.get("completion_tokens") or 0),
        "cost_usd": float(cost or 0.0),
        "call_type": payload.get("call_type") or kwargs.get("call_type") or "unknown",
        "at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
    }


class UsageLogger(CustomLogger):
    """One llm_usage record per finished model call; no prompt, no completion, no key."""

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):
        self._log(kwargs, "success")

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):
        self._log(kwargs, "failure")

    def _log(self, kwargs, status):
        try:
            record = _usage_record(kwargs, status)
            log_record(record)
            if SLUG_PATTERN.match(record["user"]):
                alert = shared_state().limits.record(record["user"], record["input_tokens"] + record["output_tokens"], record["cost_usd"])
                if alert is not None:
                    log_record(alert)
        except Exception as error:  # noqa: BLE001 - a logging failure must never fail the person's call
            log_record({"event": "llm_usage_not_recorded", "error": str(error)[:300]})


usage_logger = UsageLogger()
