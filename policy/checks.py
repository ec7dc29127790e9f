"""A policy Neon would refuse, or one that does not read, stops the dashboard from starting."""

from django.core import checks

from policy import loaded


@checks.register()
def policy_file_loads(app_configs, **kwargs):
    found = loaded.current()
    return [
        checks.Error(
            f"POLICY_FILE: {problem}",
            hint="Fix the file (see policy/example-policy.yaml and README, Policies).",
            id="policy.E001",
        )
        for problem in found.problems
    ]
