"""The LLM gateway hook (files/host-bundle/llm-gateway/oh_llm_gateway.py) with Debian's python3 and unittest.

LiteLLM cannot be installed or run here (no registry for it, no Bedrock): the hook is loaded exactly as LiteLLM's
get_instance_fn loads it (importlib from the file, once per setting) against the stand-in of LiteLLM's auth and
logger types in ./standin (same constructors and attributes as litellm/proxy/_types.py and
litellm/integrations/custom_logger.py of v1.74.9). Key derivation is held to packages/contracts/vectors/llm-user-key.json,
the same file the TypeScript side is tested against. Cognito's ListUsers is a recorded stand-in client.
"""

import asyncio
import importlib.util
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "standin"))
HOOK = HERE.parent.parent / "files" / "host-bundle" / "llm-gateway" / "oh_llm_gateway.py"
VECTORS = json.loads((HERE.parents[2] / "contracts" / "vectors" / "llm-user-key.json").read_text(encoding="utf-8"))
SLUG_VECTORS = json.loads((HERE.parents[2] / "contracts" / "vectors" / "slug.json").read_text(encoding="utf-8"))

from litellm.proxy._types import LitellmUserRoles, ProxyException  # noqa: E402  (the stand-in)

MASTER = VECTORS["vectors"][0]["masterKey"]
ADA = VECTORS["vectors"][0]
GRACE = VECTORS["vectors"][1]


def load_hook(name="oh_llm_gateway"):
    """As LiteLLM's get_instance_fn: spec_from_file_location + exec_module, a fresh module object each time."""
    spec = importlib.util.spec_from_file_location(name, HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Clock:
    def __init__(self, at=1767225600.0):  # 2026-01-01T00:00:00Z
        self.at = at

    def __call__(self):
        return self.at


class Url:
    def __init__(self, path):
        self.path = path


class Client:
    def __init__(self, host):
        self.host = host


class Request:
    """The two attributes of starlette's Request the hook reads."""

    def __init__(self, path="/v1/chat/completions", peer="10.240.3.130"):
        self.url = Url(path)
        self.client = Client(peer)


class FakeCognito:
    """Stand-in for boto3's cognito-idp client: list_users in pages of 60, each user with its sub and Enabled flag, as
    Cognito answers (`people` is a list of (sub, enabled))."""

    def __init__(self, people, fail=False):
        self.people = people
        self.fail = fail
        self.calls = []

    def list_users(self, **arguments):
        self.calls.append(arguments)
        if self.fail:
            raise RuntimeError("AccessDeniedException: not authorized to perform cognito-idp:ListUsers")
        start = int(arguments.get("PaginationToken") or 0)
        page = self.people[start : start + arguments["Limit"]]
        users = [{"Username": "u%d" % i, "Enabled": on, "Attributes": [{"Name": "sub", "Value": sub}]} for i, (sub, on) in enumerate(page)]
        answer = {"Users": users}
        if start + arguments["Limit"] < len(self.people):
            answer["PaginationToken"] = str(start + arguments["Limit"])
        return answer


def run(coroutine):
    return asyncio.run(coroutine)


class HookTestCase(unittest.TestCase):
    env = {}

    def setUp(self):
        self.hook = load_hook()
        self.clock = Clock()
        self.cognito = FakeCognito([])
        env = {"LITELLM_MASTER_KEY": MASTER, **self.env}
        people = self.hook.cognito_pool_people("us-east-1_Test123", "us-east-1", self.cognito)
        self.state = self.hook.build_state(env, people, self.clock)
        holder = type(sys)("oh_llm_gateway_shared_state")
        holder.state = self.state
        sys.modules[self.hook.STATE_MODULE] = holder
        self.out = io.StringIO()
        self._redirect = redirect_stdout(self.out)
        self._redirect.__enter__()

    def tearDown(self):
        self._redirect.__exit__(None, None, None)
        sys.modules.pop(self.hook.STATE_MODULE, None)

    def records(self):
        return [json.loads(line) for line in self.out.getvalue().splitlines() if line.startswith("{")]

    def auth(self, key, path="/v1/chat/completions", peer="10.240.3.130"):
        return run(self.hook.user_api_key_auth(Request(path, peer), key))

    def refused(self, key, path="/v1/chat/completions", peer="10.240.3.130"):
        with self.assertRaises(ProxyException) as caught:
            self.auth(key, path, peer)
        return caught.exception


class KeyDerivation(HookTestCase):
    def test_vectors_give_the_same_keys_as_the_typescript_side(self):
        for vector in VECTORS["vectors"]:
            with self.subTest(vector["name"]):
                self.assertEqual(self.hook.user_slug(vector["sub"]), vector["slug"])
                self.assertEqual(self.hook.user_key(vector["masterKey"], vector["slug"]), vector["userKey"])
                self.assertEqual(self.hook.verify_user_key(vector["masterKey"], vector["userKey"]), vector["slug"])

    def test_slug_vectors_match(self):
        for vector in SLUG_VECTORS["vectors"]:
            with self.subTest(sub=vector["sub"][:20]):
                self.assertEqual(self.hook.user_slug(vector["sub"]), vector["slug"])

    def test_refused_vectors_name_no_one(self):
        for case in VECTORS["refusedWithFirstMasterKey"]:
            with self.subTest(case["name"]):
                self.assertIsNone(self.hook.verify_user_key(MASTER, case["key"]))
        self.assertIsNone(self.hook.verify_user_key(MASTER, None))


class Authentication(HookTestCase):
    def test_a_person_key_on_a_model_route_names_that_person(self):
        answer = self.auth(ADA["userKey"])
        self.assertEqual(answer.user_id, ADA["slug"])
        self.assertEqual(answer.user_role, LitellmUserRoles.INTERNAL_USER)
        self.assertEqual(self.auth(GRACE["userKey"], "/chat/completions").user_id, GRACE["slug"])
        self.assertEqual(self.auth(ADA["userKey"], "/v1/models").user_id, ADA["slug"])
        self.assertEqual(self.auth("Bearer " + ADA["userKey"]).user_id, ADA["slug"])

    def test_no_key_a_forged_key_and_another_master_keys_key_are_401(self):
        self.assertEqual(self.refused("").code, "401")
        forged = "sk-oh-%s-%s" % (GRACE["slug"], ADA["userKey"][-43:])  # ada's mac under grace's slug
        self.assertEqual(self.refused(forged).code, "401")
        self.assertEqual(self.refused(VECTORS["vectors"][2]["userKey"]).code, "401")
        self.assertEqual(self.refused(ADA["userKey"][:-1] + "x").code, "401")

    def test_a_person_key_on_admin_routes_is_403(self):
        for route in ("/key/generate", "/user/new", "/config/update", "/spend/logs", "/model/new", "/health", "/global/spend"):
            with self.subTest(route):
                refusal = self.refused(ADA["userKey"], route)
                self.assertEqual(refusal.code, "403")
                self.assertIn("model routes only", refusal.message)

    def test_the_master_key_from_a_user_bridge_is_refused_and_from_loopback_is_admin(self):
        refusal = self.refused(MASTER, "/key/generate", "10.240.3.130")
        self.assertEqual(refusal.code, "401")
        self.assertIn("host only", refusal.message)
        self.assertEqual(self.refused(MASTER, "/v1/chat/completions", "10.240.3.1").code, "401")
        self.assertEqual(self.auth(MASTER, "/key/generate", "127.0.0.1").user_role, LitellmUserRoles.PROXY_ADMIN)
        self.assertEqual(self.auth(MASTER, "/health", "::1").user_role, LitellmUserRoles.PROXY_ADMIN)

    def test_the_file_loaded_twice_shares_one_state(self):
        sys.modules.pop(self.hook.STATE_MODULE, None)
        os.environ["LITELLM_MASTER_KEY"] = MASTER
        try:
            first, second = load_hook("a"), load_hook("b")
            self.assertIs(first.shared_state(), second.shared_state())
        finally:
            del os.environ["LITELLM_MASTER_KEY"]


class Revocation(HookTestCase):
    def test_a_disabled_person_key_is_refused_until_they_are_enabled_again(self):
        self.cognito.people = [(ADA["sub"], True), (GRACE["sub"], True)]
        self.assertTrue(self.state.people.refresh())
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])
        self.cognito.people = [(ADA["sub"], False), (GRACE["sub"], True)]
        self.state.people.refresh()
        refusal = self.refused(ADA["userKey"])
        self.assertEqual(refusal.code, "401")
        self.assertIn("revoked", refusal.message)
        self.assertEqual(self.auth(GRACE["userKey"]).user_id, GRACE["slug"])
        self.cognito.people = [(ADA["sub"], True), (GRACE["sub"], True)]
        self.state.people.refresh()
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])

    def test_a_person_removed_from_the_pool_is_refused(self):
        self.cognito.people = [(GRACE["sub"], True)]
        self.state.people.refresh()
        refusal = self.refused(ADA["userKey"])
        self.assertEqual(refusal.code, "401")
        self.assertIn("names nobody in the user pool", refusal.message)

    def test_a_person_added_since_the_last_list_is_looked_up_at_once_and_at_most_every_10_s(self):
        self.cognito.people = [(GRACE["sub"], True)]
        self.state.people.refresh()
        self.clock.at += 11
        self.cognito.people = [(GRACE["sub"], True), (ADA["sub"], True)]
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])
        self.assertEqual(len(self.cognito.calls), 2)
        # an unknown key does not make the gateway ask Cognito at every call
        unknown = self.hook.user_key(MASTER, VECTORS["vectors"][3]["slug"])
        self.refused(unknown)
        self.clock.at += 11
        self.refused(unknown)
        self.refused(unknown)
        self.assertEqual(len(self.cognito.calls), 3)

    def test_before_a_first_list_every_well_formed_key_is_accepted(self):
        self.cognito.fail = True
        self.assertFalse(self.state.people.refresh())
        self.assertEqual(self.state.people.standing(ADA["slug"]), "unchecked")
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])

    def test_every_page_of_the_pool_is_read(self):
        self.cognito.people = [("sub-%d" % i, True) for i in range(130)] + [(ADA["sub"], False)]
        self.state.people.refresh()
        self.assertEqual(len(self.cognito.calls), 3)
        self.assertEqual(self.cognito.calls[0], {"UserPoolId": "us-east-1_Test123", "AttributesToGet": ["sub"], "Limit": 60})
        self.assertEqual(self.cognito.calls[1]["PaginationToken"], "60")
        self.assertEqual(self.state.people.standing(ADA["slug"]), "disabled")
        self.assertEqual(self.state.people.standing(self.hook.user_slug("sub-129")), "enabled")

    def test_a_failing_refresh_keeps_the_last_list_and_says_so(self):
        self.cognito.people = [(ADA["sub"], False)]
        self.state.people.refresh()
        self.cognito.fail = True
        self.assertFalse(self.state.people.refresh())
        self.assertEqual(self.state.people.standing(ADA["slug"]), "disabled")
        self.assertIn("llm_revocation_refresh_failed", [r["event"] for r in self.records()])


class FakeSsm:
    """Stand-in for boto3's ssm client: get_parameter of the edge configuration, missing until the edge stack exists."""

    def __init__(self):
        self.value = None

    def get_parameter(self, Name):
        if self.value is None:
            raise RuntimeError("ParameterNotFound: %s" % Name)
        return {"Parameter": {"Name": Name, "Value": self.value}}


class PoolFromEdgeConfiguration(HookTestCase):
    def test_the_pool_is_read_from_the_edge_configuration_once_it_exists(self):
        ssm = FakeSsm()
        people = self.hook.PoolPeople(
            self.hook.cognito_pool_people(
                self.hook.edge_config_user_pool("/openhands/prod/edge/config", "us-east-1", ssm), "", self.cognito
            )
        )
        self.cognito.people = [(ADA["sub"], False)]
        self.assertFalse(people.refresh())
        self.assertIn("ParameterNotFound", people.last_error)
        ssm.value = json.dumps({"version": 1, "userPoolId": "us-east-1_Edge42"})
        self.assertTrue(people.refresh())
        self.assertEqual(people.standing(ADA["slug"]), "disabled")
        self.assertEqual(self.cognito.calls[-1]["UserPoolId"], "us-east-1_Edge42")
        ssm.value = json.dumps({"userPoolId": "x; rm -rf /"})
        self.assertTrue(people.refresh())  # the id already read is kept

    def test_an_edge_configuration_without_a_pool_id_is_an_error_not_a_crash(self):
        ssm = FakeSsm()
        ssm.value = json.dumps({"userPoolId": "not a pool"})
        pool = self.hook.edge_config_user_pool("/o/p/edge/config", "us-east-1", ssm)
        people = self.hook.PoolPeople(self.hook.cognito_pool_people(pool, "", self.cognito))
        self.assertFalse(people.refresh())
        self.assertIn("holds no Cognito userPoolId", people.last_error)


class RequestLimits(HookTestCase):
    env = {"OH_LLM_REQUESTS_PER_MINUTE": "2", "OH_LLM_TOKENS_PER_MINUTE": "1000"}

    def test_requests_over_the_minute_limit_get_a_clear_429_and_pass_again_a_minute_later(self):
        self.auth(ADA["userKey"])
        self.auth(ADA["userKey"])
        refusal = self.refused(ADA["userKey"])
        self.assertEqual(refusal.code, "429")
        self.assertEqual(refusal.type, "rate_limit_error")
        self.assertIn("bedrock.perUser.requestsPerMinute", refusal.message)
        self.assertIn(ADA["slug"], refusal.message)
        self.assertIn("try again in 60 s", refusal.message)
        # another person is not held back by ada's calls, and listing models does not count
        self.assertEqual(self.auth(GRACE["userKey"]).user_id, GRACE["slug"])
        self.assertEqual(self.auth(ADA["userKey"], "/v1/models").user_id, ADA["slug"])
        self.clock.at += 60.5
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])
        self.assertIn({"event": "llm_limit", "user": ADA["slug"], "limit": "requests_per_minute"}, self.records())

    def test_tokens_over_the_minute_limit_get_a_429(self):
        self.auth(ADA["userKey"])
        self.state.limits.record(ADA["slug"], 1200, 0.01)
        refusal = self.refused(ADA["userKey"])
        self.assertEqual(refusal.code, "429")
        self.assertIn("bedrock.perUser.tokensPerMinute", refusal.message)
        self.clock.at += 61
        self.assertEqual(self.auth(ADA["userKey"]).user_id, ADA["slug"])


def call_kwargs(slug, cost=0.25, prompt_tokens=1200, completion_tokens=300):
    """The kwargs LiteLLM passes to callbacks, with the prompt and the answer in them as LiteLLM has them."""
    return {
        "model": "bedrock/eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "messages": [{"role": "user", "content": "SECRET-PROMPT-TEXT"}],
        "response_cost": cost,
        "standard_logging_object": {
            "call_type": "acompletion",
            "model": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "model_group": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "response_cost": cost,
            "messages": [{"role": "user", "content": "SECRET-PROMPT-TEXT"}],
            "response": {"choices": [{"message": {"content": "SECRET-COMPLETION-TEXT"}}]},
            "metadata": {
                "user_api_key_user_id": slug,
                "user_api_key_hash": "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b",
            },
        },
    }


class Usage(HookTestCase):
    def test_a_call_is_one_record_with_person_model_tokens_and_cost_and_no_text(self):
        run(self.hook.usage_logger.async_log_success_event(call_kwargs(ADA["slug"]), object(), None, None))
        records = [r for r in self.records() if r["event"] == "llm_usage"]
        self.assertEqual(len(records), 1)
        record = records[0]
        self.assertEqual(
            {k: record[k] for k in ("status", "user", "model", "input_tokens", "output_tokens", "cost_usd", "call_type")},
            {
                "status": "success",
                "user": ADA["slug"],
                "model": "eu.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "input_tokens": 1200,
                "output_tokens": 300,
                "cost_usd": 0.25,
                "call_type": "acompletion",
            },
        )
        self.assertRegex(record["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        # Data leak: usage records carry no prompt, no completion and no key hash.
        text = self.out.getvalue()
        for secret in ("SECRET-PROMPT-TEXT", "SECRET-COMPLETION-TEXT", "88dc28d0", "sk-"):
            self.assertNotIn(secret, text)

    def test_a_malformed_payload_is_logged_as_unknown_and_never_raises(self):
        run(self.hook.usage_logger.async_log_success_event({"standard_logging_object": {"prompt_tokens": "many"}}, None, None, None))
        run(self.hook.usage_logger.async_log_failure_event({}, None, None, None))
        events = [r["event"] for r in self.records()]
        self.assertIn("llm_usage_not_recorded", events)
        usage = [{"user": r.get("user"), "status": r.get("status")} for r in self.records() if r["event"] == "llm_usage"]
        self.assertIn({"user": "unknown", "status": "failure"}, usage)


class SpendAlert(HookTestCase):
    def setUp(self):
        self.state_dir = tempfile.mkdtemp()
        self.env = {"OH_LLM_MONTHLY_SPEND_ALERT_USD": "1", "OH_LLM_STATE_DIR": self.state_dir}
        super().setUp()

    def alerts(self):
        return [r for r in self.records() if r["event"] == "llm_spend_alert"]

    def test_crossing_the_monthly_threshold_alerts_once_and_survives_a_restart(self):
        for _ in range(3):
            run(self.hook.usage_logger.async_log_success_event(call_kwargs(ADA["slug"], cost=0.6), None, None, None))
        run(self.hook.usage_logger.async_log_success_event(call_kwargs(GRACE["slug"], cost=0.6), None, None, None))
        expected = {"event": "llm_spend_alert", "user": ADA["slug"], "month": "2026-01", "spend_usd": 1.2, "threshold_usd": 1.0}
        self.assertEqual(self.alerts(), [expected])
        # a restarted gateway reads the month so far and does not alert ada again
        limits = self.hook.PersonLimits(self.state.settings, self.clock)
        self.assertAlmostEqual(limits.month_spend[ADA["slug"]], 1.8)
        self.assertIsNone(limits.record(ADA["slug"], 10, 0.5))
        self.assertIsNotNone(limits.record(GRACE["slug"], 10, 0.5))

    def test_a_new_month_starts_from_zero(self):
        self.state.limits.record(ADA["slug"], 10, 1.5)
        self.clock.at += 31 * 86400
        alert = self.state.limits.record(ADA["slug"], 10, 1.0)
        self.assertEqual(alert["month"], "2026-02")
        self.assertEqual(alert["spend_usd"], 1.0)

    def test_a_corrupt_state_file_is_ignored(self):
        Path(self.state_dir, "spend.json").write_text("{not json", encoding="utf-8")
        limits = self.hook.PersonLimits(self.state.settings, self.clock)
        self.assertEqual(limits.month_spend, {})
        stored = {"month": "2026-01", "spend": {"../../etc": 5, ADA["slug"]: 0.5}}
        Path(self.state_dir, "spend.json").write_text(json.dumps(stored), encoding="utf-8")
        self.assertEqual(self.hook.PersonLimits(self.state.settings, self.clock).month_spend, {ADA["slug"]: 0.5})


class SettingsErrors(unittest.TestCase):
    def setUp(self):
        self.hook = load_hook()

    def test_bad_values_name_the_variable_and_the_fix(self):
        cases = [
            ({"LITELLM_MASTER_KEY": "abc"}, "LITELLM_MASTER_KEY"),
            ({"LITELLM_MASTER_KEY": MASTER, "OH_LLM_REQUESTS_PER_MINUTE": "lots"}, "OH_LLM_REQUESTS_PER_MINUTE: 'lots' is not a number"),
            ({"LITELLM_MASTER_KEY": MASTER, "OH_LLM_TOKENS_PER_MINUTE": "-5"}, "OH_LLM_TOKENS_PER_MINUTE: '-5' is not a positive number"),
            ({"LITELLM_MASTER_KEY": MASTER, "OH_LLM_MONTHLY_SPEND_ALERT_USD": "nan"}, "OH_LLM_MONTHLY_SPEND_ALERT_USD"),
            ({"LITELLM_MASTER_KEY": MASTER, "OH_LLM_USER_POOL_ID": "pool\nx"}, "OH_LLM_USER_POOL_ID"),
            ({"LITELLM_MASTER_KEY": MASTER, "OH_LLM_EDGE_CONFIG_PARAMETER": "edge config"}, "OH_LLM_EDGE_CONFIG_PARAMETER"),
        ]
        for env, message in cases:
            with self.subTest(message):
                with self.assertRaises(ValueError) as caught:
                    self.hook.Settings(env)
                self.assertIn(message, str(caught.exception))

    def test_empty_limits_mean_no_limit_and_the_pool_region_comes_from_its_id(self):
        env = {"LITELLM_MASTER_KEY": MASTER, "OH_LLM_REQUESTS_PER_MINUTE": "", "OH_LLM_USER_POOL_ID": "us-east-1_AbC123xyz"}
        settings = self.hook.Settings(env)
        self.assertIsNone(settings.requests_per_minute)
        self.assertEqual(settings.user_pool_region, "us-east-1")


if __name__ == "__main__":
    unittest.main()
