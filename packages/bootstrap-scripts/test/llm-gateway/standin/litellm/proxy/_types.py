"""Stand-in for litellm/proxy/_types.py: LitellmUserRoles, ProxyException and UserAPIKeyAuth as the hook uses them."""
import enum


class LitellmUserRoles(str, enum.Enum):
    PROXY_ADMIN = "proxy_admin"
    PROXY_ADMIN_VIEW_ONLY = "proxy_admin_viewer"
    INTERNAL_USER = "internal_user"
    INTERNAL_USER_VIEW_ONLY = "internal_user_viewer"


class ProxyException(Exception):
    """Same constructor as LiteLLM's: the proxy answers `code` with {"error": {message, type, param, code}}."""

    def __init__(self, message, type, param, code=None, headers=None, openai_code=None):
        super().__init__(message)
        self.message = str(message)
        self.type = type
        self.param = param
        self.openai_code = openai_code or code
        self.code = str(code)
        self.headers = headers or {}


class UserAPIKeyAuth:
    """A pydantic model in LiteLLM; the fields the hook sets are kept, an unknown field is refused as pydantic would."""

    FIELDS = {"api_key", "user_id", "key_alias", "user_role", "team_id", "rpm_limit", "tpm_limit", "metadata", "models"}

    def __init__(self, **fields):
        unknown = set(fields) - self.FIELDS
        if unknown:
            raise TypeError("UserAPIKeyAuth has no field(s) %s" % sorted(unknown))
        for name in self.FIELDS:
            setattr(self, name, fields.get(name))

    @classmethod
    def model_validate(cls, value):
        if isinstance(value, cls):
            return value
        return cls(**value)
