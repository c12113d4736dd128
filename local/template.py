"""Reads a SAM template through aws-sam-translator and resolves CloudFormation intrinsics locally."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"
PLACEHOLDER_BUCKET = "local-code"


class TemplateError(Exception):
    """The template cannot be read or an intrinsic cannot be resolved locally."""


def translate(template_path: Path, overrides: dict[str, str], region: str) -> dict[str, Any]:
    """Return the plain CloudFormation a SAM template transforms into, without touching AWS.

    The translator insists on S3 code locations, so local CodeUri/ContentUri paths become
    ``s3://local-code/<path>``; the S3Key then carries the path (see ``code_path``).
    """
    import boto3  # the translator needs a session only for its region
    from samtranslator.metrics.metrics import Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    from samtranslator.yaml_helper import yaml_parse

    sam = yaml_parse(template_path.read_text())
    for resource in (sam.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{PLACEHOLDER_BUCKET}/{props[key].strip('/')}"
    if "Transform" not in sam:
        return sam  # already plain CloudFormation
    metrics = Metrics()  # published (to nowhere) below, else it warns when garbage-collected
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region), metrics=metrics)
    try:
        return translator.translate(sam, parameter_values=dict(overrides), get_managed_policy_map=lambda: {})
    except Exception as exc:  # the translator raises many unrelated types for a bad template
        raise TemplateError(f"{template_path}: {exc}") from exc
    finally:
        metrics.publish()


def code_path(template_dir: Path, code: dict[str, Any]) -> Path | None:
    """Local directory of a function's ``Code`` or a layer's ``Content`` (None when it is really remote)."""
    if code.get("S3Bucket") != PLACEHOLDER_BUCKET:
        return None
    return (template_dir / code["S3Key"]).resolve()


def parameter_values(cfn: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    """Template parameter values: defaults, then overrides; list types become lists as in CloudFormation."""
    values: dict[str, Any] = {}
    for name, spec in (cfn.get("Parameters") or {}).items():
        raw = overrides.get(name, spec.get("Default"))
        if raw is None:
            raise TemplateError(f"parameter {name} has no default: pass {name}=VALUE")
        is_list = spec.get("Type", "").startswith("List<") or spec.get("Type") == "CommaDelimitedList"
        values[name] = [v.strip() for v in str(raw).split(",")] if is_list else str(raw)
    unknown = set(overrides) - set(values)
    if unknown:
        raise TemplateError(f"unknown parameter override(s): {', '.join(sorted(unknown))}")
    return values


_NO_VALUE = object()  # AWS::NoValue: the enclosing key or list item disappears
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


class Resolver:
    """Resolves Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If, Fn::Select, Fn::Split, Fn::Base64 and
    conditions against what the local stack provisioned (``physical`` and ``attributes``)."""

    def __init__(self, cfn: dict[str, Any], parameters: dict[str, Any], region: str, stack_name: str):
        self.region = region
        self.stack_name = stack_name
        self.conditions_spec: dict[str, Any] = cfn.get("Conditions") or {}
        self.refs: dict[str, Any] = {
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": _NO_VALUE,
            **parameters,
        }
        self.attributes: dict[tuple[str, str], Any] = {}
        self._conditions: dict[str, bool] = {}

    def register(self, logical_id: str, ref: Any, **attributes: Any) -> None:
        """Record what ``Ref`` and ``Fn::GetAtt`` of a resource return."""
        self.refs[logical_id] = ref
        for name, value in attributes.items():
            self.attributes[(logical_id, name)] = value

    def condition(self, name: str) -> bool:
        """Evaluate a named condition of the template (memoised)."""
        if name not in self._conditions:
            if name not in self.conditions_spec:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = bool(self.resolve(self.conditions_spec[name]))
        return self._conditions[name]

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with every intrinsic function replaced by its local value."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            handler = self._FUNCTIONS.get(key)
            # "Condition" is an intrinsic only with a name; IAM policies use it as a plain key.
            if handler is not None and (key != "Condition" or isinstance(arg, str)):
                return handler(self, arg)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        if name not in self.refs:
            raise TemplateError(f"Ref {name}: not a parameter or a resource the local stack knows")
        return self.refs[name]

    def _get_att(self, arg: Any) -> Any:
        logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else self.resolve(arg)
        try:
            return self.attributes[(logical_id, attribute)]
        except KeyError:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not available locally") from None

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self._get_att(name))
            return str(self._ref(name))

        # "${!Literal}" escapes a placeholder: it renders as "${Literal}".
        return _SUB_VAR.sub(substitute, text).replace("${!", "${")

    def _join(self, arg: list[Any]) -> str:
        delimiter, items = arg[0], self.resolve(arg[1])
        return str(delimiter).join(str(item) for item in items)

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    def _select(self, arg: list[Any]) -> Any:
        index, items = self.resolve(arg[0]), self.resolve(arg[1])
        return items[int(index)]

    def _split(self, arg: list[Any]) -> list[str]:
        return str(self.resolve(arg[1])).split(arg[0])

    def _base64(self, arg: Any) -> str:
        import base64

        return base64.b64encode(str(self.resolve(arg)).encode()).decode()

    def _equals(self, arg: list[Any]) -> bool:
        left, right = (self.resolve(v) for v in arg)
        return str(left) == str(right)

    _FUNCTIONS: dict[str, Any] = {
        "Ref": lambda self, arg: self._ref(arg),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::If": _if,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::Base64": _base64,
        "Fn::Equals": _equals,
        "Fn::Not": lambda self, arg: not self.resolve(arg[0]),
        "Fn::And": lambda self, arg: all(self.resolve(v) for v in arg),
        "Fn::Or": lambda self, arg: any(self.resolve(v) for v in arg),
        "Condition": lambda self, arg: self.condition(arg),
    }


def references(value: Any) -> set[str]:
    """Logical ids a property value depends on (to provision, say, a DLQ before its source queue)."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                found |= {m.group(1).split(".", 1)[0] for m in _SUB_VAR.finditer(text)}
                if not isinstance(arg, str):
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return {name for name in found if not name.startswith("AWS::")}
