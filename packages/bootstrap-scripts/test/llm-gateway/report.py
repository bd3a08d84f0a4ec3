"""Runs test_oh_llm_gateway with unittest and prints one JSON line per test (id, outcome, details) for the jest
wrapper (../llm-gateway-hook.test.ts); a failing subtest fails its test."""
import json
import sys
import unittest


class Recorder(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcomes = {}

    def _set(self, test, outcome, details=""):
        current = self.outcomes.get(test.id())
        if current is None or current[0] == "ok":
            self.outcomes[test.id()] = (outcome, details)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._set(test, "failed", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._set(test, "error", self._exc_info_to_string(err, test))

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set(test, "failed", "%s: %s" % (subtest.id(), self._exc_info_to_string(err, test)))
        elif test.id() not in self.outcomes:
            self.outcomes[test.id()] = ("ok", "")


suite = unittest.defaultTestLoader.loadTestsFromName("test_oh_llm_gateway")
runner = unittest.TextTestRunner(stream=sys.stderr, resultclass=Recorder, verbosity=0)
result = runner.run(suite)
for test_id, (outcome, details) in sorted(result.outcomes.items()):
    print(json.dumps({"id": test_id, "outcome": outcome, "details": details[-3000:]}))
sys.exit(0 if result.wasSuccessful() else 1)
