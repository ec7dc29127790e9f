"""Background work of the policy (Django's Tasks framework, as the fleet's refresh)."""

from django.tasks import task

from policy import loaded, services


@task()
def evaluate_policy() -> dict:
    """The whole fleet against the policy in force now (after the file changed, say)."""
    policy = loaded.current().policy
    if policy is None:
        return {"evaluated": False}
    evaluation = services.evaluate_fleet(policy)
    swept = services.read_default_branches(policy)
    return {"evaluated": True, "seconds": evaluation.seconds, "branches_read": swept.read}


@task()
def read_branches() -> dict:
    """The default branches the policy needs (after a refresh's evaluation), a budget's worth
    (POLICY_BRANCH_READS), and those projects evaluated again."""
    policy = loaded.current().policy
    if policy is None:
        return {"read": 0}
    swept = services.read_default_branches(policy)
    return {"read": swept.read, "failed": swept.failed}
