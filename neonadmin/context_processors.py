from neonadmin.roles import Role, has_role, user_role


def access(request):
    """What the signed-in person may do, for hiding controls (the views enforce it)."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "access": {
            "role": user_role(user),
            "can_view": has_role(user, Role.VIEWER),
            "can_operate": has_role(user, Role.OPERATOR),
            "can_admin": has_role(user, Role.ADMIN),
        }
    }
