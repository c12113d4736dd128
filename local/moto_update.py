"""A cheaper moto update path: the same answers for a fraction of the work.

moto handles every ``UpdateExpression`` (of an UpdateItem and of each ``Update`` of a transaction)
by parsing the string twice (once in the request handler, once in the backend), deep-copying the
tree, walking it depth-first with ten processors (each one tests every node against its node
types; the action counter alone searches the whole tree again at every clause node, and each
plain attribute name is looked up in a list of 573 reserved words) and then walking it once more
to execute it. On the local stack that was most of the moto server's ``TransactWriteItems`` time.

The product sends few distinct expressions with changing values, all of simple shapes: top-level
attributes set to a value, to another attribute, to ``if_not_exists``, ``list_append`` or a
``+``/``-`` of those, and top-level ``REMOVE``, ``ADD`` and ``DELETE``. Within :func:`fast_updates`:

* an expression string is parsed once (:func:`_cached_make`): moto never changes a parsed tree
  (its validator works on a deep copy), so every request may share it;
* a parsed tree of those shapes is compiled once into a list of actions (:func:`_compile`), and
  each update runs them directly: every value is resolved against the item as it is before the
  update (moto's validator does the same), then the actions are applied in moto's order, each
  write refused at the item size where moto's size-checked dict refuses it (the item is
  measured once per update, not once per attribute written);
* anything else goes moto's own way: a tree of another shape (nested paths, list indexes,
  unknown functions, a reserved word), and every request that moto would refuse (a missing
  name or value, a duplicate path, a key attribute, a missing attribute read, operands of the
  wrong type, an empty set, a key attribute's wrong type or empty value). The fast path decides
  that before it changes anything, so moto's validator then raises its own error.

Conditions, item creation, streams and the size error's wording stay moto's: only the validator
and the executor that ``DynamoDBBackend.update_item`` calls are replaced.
``tests/unit/local/test_local_moto_update.py`` compares answers and items with moto alone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_MISSING = object()  # an attribute path that is not in the item (moto's NoneExistingPath)
_CACHE_LIMIT = 4096  # distinct expression strings kept; the product sends a few dozen
_MOTO_ITEM_LIMIT = 405_000  # moto's LimitedSizeDict threshold


class _Refused(Exception):
    """moto would refuse (or the fast path does not know): let moto's own validator answer."""


@dataclass(frozen=True)
class _Name:
    """A top-level attribute: ``token`` as written (a ``#placeholder`` or a plain name)."""

    token: str

    def resolve(self, names: dict[str, str]) -> str:
        if not self.token.startswith("#"):
            return self.token
        if self.token not in names:
            raise _Refused
        return names[self.token]


@dataclass(frozen=True)
class _Value:
    placeholder: str


@dataclass(frozen=True)
class _Path:
    name: _Name


@dataclass(frozen=True)
class _Function:
    function: str  # if_not_exists | list_append
    first: Any
    second: Any


@dataclass(frozen=True)
class _Arithmetic:
    operator: str  # + | -
    left: Any
    right: Any


@dataclass(frozen=True)
class _Action:
    kind: str  # SET | REMOVE | ADD | DELETE
    target: _Name
    operand: Any = None  # SET: an operand tree; ADD and DELETE: a _Value


@dataclass(frozen=True)
class _Plan:
    actions: tuple[_Action, ...]
    paths: tuple[_Name, ...]  # every path of the expression, targets and operands alike


class _Prepared:
    """What :class:`_Validator` hands to :class:`_Executor` in place of moto's validated tree."""

    def __init__(self, steps: list[tuple[str, str, Any]]) -> None:
        self.steps = steps

    def normalize(self) -> None:
        """moto orders the actions here; a plan is already in moto's order."""


def _name(path: Any) -> _Name:
    from moto.dynamodb.parsing.ast_nodes import (
        ExpressionAttribute,
        ExpressionAttributeName,
        UpdateExpressionPath,
    )
    from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

    if not isinstance(path, UpdateExpressionPath) or len(path.children) != 1:
        raise _Refused  # a nested path or a list index
    (child,) = path.children
    if type(child) is ExpressionAttributeName:
        return _Name(child.get_attribute_name_placeholder())
    if type(child) is ExpressionAttribute:
        name = child.get_attribute_name()
        if name.upper() in ReservedKeywords.get_reserved_keywords():
            raise _Refused  # moto refuses it when it resolves the path
        return _Name(name)
    raise _Refused


def _operand(node: Any) -> Any:
    from moto.dynamodb.parsing.ast_nodes import (
        ExpressionAttributeValue,
        ExpressionValueOperator,
        UpdateExpressionFunction,
        UpdateExpressionPath,
        UpdateExpressionValue,
    )

    if type(node) is ExpressionAttributeValue:
        return _Value(node.get_value_name())
    if type(node) is UpdateExpressionPath:
        return _Path(_name(node))
    if type(node) is UpdateExpressionValue:
        if len(node.children) == 1:
            return _operand(node.children[0])
        left, operator, right = node.children
        if type(operator) is not ExpressionValueOperator or operator.get_operator() not in ("+", "-"):
            raise _Refused
        return _Arithmetic(operator.get_operator(), _operand(left), _operand(right))
    if type(node) is UpdateExpressionFunction and len(node.children) == 3:
        function = node.get_function_name()
        if function in ("if_not_exists", "list_append"):
            return _Function(function, _operand(node.children[1]), _operand(node.children[2]))
    raise _Refused


def _paths(operand: Any) -> Iterator[_Name]:
    if isinstance(operand, _Path):
        yield operand.name
    elif isinstance(operand, (_Function, _Arithmetic)):
        for part in (
            (operand.first, operand.second)
            if isinstance(operand, _Function)
            else (operand.left, operand.right)
        ):
            yield from _paths(part)


def _compile(tree: Any) -> _Plan | None:
    """The plan of a parsed expression, or None when moto must handle it."""
    from moto.dynamodb.parsing.ast_nodes import (
        ExpressionAttributeValue,
        UpdateExpressionAddAction,
        UpdateExpressionAddClause,
        UpdateExpressionDeleteAction,
        UpdateExpressionDeleteClause,
        UpdateExpressionRemoveAction,
        UpdateExpressionRemoveClause,
        UpdateExpressionSetAction,
        UpdateExpressionSetClause,
    )

    clauses = (
        UpdateExpressionSetClause,
        UpdateExpressionRemoveClause,
        UpdateExpressionAddClause,
        UpdateExpressionDeleteClause,
    )
    if any(len(tree.find_clauses([clause])) > 1 for clause in clauses):
        return None  # moto refuses a second clause of a kind
    ordered = copy.deepcopy(tree)
    ordered.normalize()  # moto's execution order (REMOVE runs sorted as moto sorts them)
    actions = []
    try:
        for node in ordered.children:
            target = _name(node.children[0])
            if type(node) is UpdateExpressionSetAction:
                actions.append(_Action("SET", target, _operand(node.children[1])))
            elif type(node) is UpdateExpressionRemoveAction:
                actions.append(_Action("REMOVE", target))
            elif type(node) in (UpdateExpressionAddAction, UpdateExpressionDeleteAction):
                if type(node.children[1]) is not ExpressionAttributeValue:
                    return None
                kind = "ADD" if type(node) is UpdateExpressionAddAction else "DELETE"
                actions.append(_Action(kind, target, _Value(node.children[1].get_value_name())))
            else:
                return None
    except _Refused:
        return None
    paths = [a.target for a in actions] + [p for a in actions for p in _paths(a.operand)]
    return _Plan(tuple(actions), tuple(paths))


_PLANS: dict[int, tuple[Any, _Plan | None]] = {}


def _plan(tree: Any) -> _Plan | None:
    # Keyed by the tree itself (held in the entry, so its id stays its own): with the parse cache
    # every request of one expression string brings the same tree.
    found = _PLANS.get(id(tree))
    if found is None or found[0] is not tree:
        if len(_PLANS) >= _CACHE_LIMIT:
            _PLANS.clear()
        found = _PLANS[id(tree)] = (tree, _compile(tree))
    return found[1]


def _evaluate(operand: Any, attrs: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> Any:
    """An operand's value as moto's validator computes it, or _Refused where moto raises."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if isinstance(operand, _Value):
        if operand.placeholder not in values:
            raise _Refused
        return DynamoType(values[operand.placeholder])  # a new value per use, as moto makes
    if isinstance(operand, _Path):
        return attrs.get(operand.name.resolve(names), _MISSING)  # the item's own value (moto's too)
    if isinstance(operand, _Function):
        first = _evaluate(operand.first, attrs, names, values)
        second = _evaluate(operand.second, attrs, names, values)
        if operand.function == "if_not_exists":
            return second if first is _MISSING else first
        if first is _MISSING or second is _MISSING or not (first.is_list() and second.is_list()):
            raise _Refused
        joined = copy.deepcopy(first)
        joined.value.extend(second.value)
        return joined
    left = _evaluate(operand.left, attrs, names, values)
    right = _evaluate(operand.right, attrs, names, values)
    if left is _MISSING or right is _MISSING or not (left.is_number() and right.is_number()):
        raise _Refused
    return left + right if operand.operator == "+" else left - right


def _prepare(plan: _Plan, names: dict[str, str], values: dict[str, Any], item: Any, table: Any) -> _Prepared:
    """The steps of one update, or _Refused for any request that moto refuses (nothing changed)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    targets = [action.target.resolve(names) for action in plan.actions]
    if len(set(targets)) != len(targets):
        raise _Refused  # a duplicate path
    keys = table.table_key_attrs
    if any(path.resolve(names) in keys for path in plan.paths):
        raise _Refused  # a key attribute, read or written
    attrs = item.attrs
    steps: list[tuple[str, str, Any]] = []
    for action, target in zip(plan.actions, targets, strict=True):
        if action.kind == "REMOVE":
            steps.append(("REMOVE", target, None))
            continue
        value = _evaluate(action.operand, attrs, names, values)
        current = attrs.get(target)
        if action.kind == "SET":
            if value is _MISSING:
                raise _Refused
            token = action.target.token  # moto compares the token as written, not the resolved name
            if any(d["AttributeName"] == token and d["AttributeType"] != value.type for d in table.attr):
                raise _Refused
            if not value.value and value.type in ("S", "B") and token in table.attribute_keys:
                raise _Refused
        elif action.kind == "ADD":
            if value.is_set():
                if not value.value or (current is not None and current.type != value.type):
                    raise _Refused
            elif not value.is_number() or (current is not None and not current.is_number()):
                raise _Refused
        elif not value.is_set() or (current is not None and current.type != value.type):  # DELETE
            raise _Refused
        assert isinstance(value, DynamoType)
        steps.append((action.kind, target, value))
    return _Prepared(steps)


def _attempt(
    plan: _Plan, names: dict[str, str], values: dict[str, Any], item: Any, table: Any
) -> _Prepared | None:
    """:func:`_prepare`, or None for moto's validator to answer with its own error."""
    try:
        return _prepare(plan, names, values, item, table)
    except Exception:  # _Refused, or a malformed request (nothing is changed yet)
        return None


def _measure(attrs: dict[str, Any]) -> int:
    """An item's size as moto's ``LimitedSizeDict`` measures it before each write."""
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.utilities import bytesize

    return sum(v.size() if type(v) is DynamoType else bytesize(str(v)) for v in (*attrs, *attrs.values()))


def _apply(prepared: _Prepared, item: Any) -> None:
    """Run the steps as moto's executors do. moto's item dict re-measures the whole item before
    each write (O(attributes) per attribute set); here it is measured once and kept up to date,
    and each write is refused at the same size, with the same error, leaving the same partial item."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    from moto.dynamodb.models.utilities import bytesize

    attrs = item.attrs
    checked = type(attrs) is LimitedSizeDict
    size = _measure(attrs) if checked else 0

    def write(target: str, value: DynamoType) -> None:
        nonlocal size
        old = attrs.get(target)
        if checked and size + bytesize(target) + value.size() > _MOTO_ITEM_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(attrs, target, value)
        size += value.size() - old.size() if old is not None else bytesize(target) + value.size()

    for kind, target, value in prepared.steps:
        if kind == "SET":
            write(target, value)
        elif kind == "REMOVE":
            old = attrs.pop(target, None)
            if old is not None:
                size -= bytesize(target) + old.size()
        elif kind == "ADD" and value.is_set():
            current = attrs.get(target)
            if current is None:
                current = DynamoType({value.type: []})
                write(target, current)
            for member in value.value:
                if member not in current.value:
                    current.value.append(member)  # in place and unchecked, as moto does
            size = _measure(attrs) if checked else 0
        elif kind == "ADD":
            write(target, attrs.get(target, DynamoType({"N": "0"})) + value)
        else:  # DELETE
            current = attrs.get(target)
            if current is None:
                continue
            for member in value.value:
                if member in current.value:
                    current.value.remove(member)
            if not current.value:
                del attrs[target]
            size = _measure(attrs) if checked else 0


@contextmanager
def fast_updates() -> Iterator[None]:
    """Within the block, moto parses each update expression once and runs simple ones directly."""
    import moto.dynamodb.models as models
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    original_make = UpdateExpressionParser.__dict__["make"]
    original_validator = models.UpdateExpressionValidator
    original_executor = models.UpdateExpressionExecutor
    parsed: dict[str, Any] = {}

    def _cached_make(cls: Any, expression: str) -> Any:
        tree = parsed.get(expression)
        if tree is None:
            tree = original_make.__func__(cls, expression)  # a syntax error is raised, not kept
            if len(parsed) >= _CACHE_LIMIT:
                parsed.clear()
            parsed[expression] = tree
        return tree

    class _Validator:
        def __init__(
            self,
            expression: Any,
            expression_attribute_names: dict[str, str] | None,
            expression_attribute_values: dict[str, Any] | None,
            item: Any,
            table: Any,
        ) -> None:
            self.args = (expression, expression_attribute_names, expression_attribute_values, item, table)

        def validate(self) -> Any:
            expression, names, values, item, table = self.args
            plan = _plan(expression)
            prepared = None if plan is None else _attempt(plan, names or {}, values or {}, item, table)
            if prepared is not None:
                return prepared
            return original_validator(
                expression,
                expression_attribute_names=names,
                expression_attribute_values=values,
                item=item,
                table=table,
            ).validate()

    class _Executor:
        def __init__(self, update_ast: Any, item: Any, expression_attribute_names: dict[str, str]) -> None:
            self.args = (update_ast, item, expression_attribute_names)

        def execute(self) -> None:
            update_ast, item, names = self.args
            if isinstance(update_ast, _Prepared):
                _apply(update_ast, item)
            else:
                original_executor(update_ast, item, names).execute()

    UpdateExpressionParser.make = classmethod(_cached_make)  # type: ignore[method-assign, assignment]
    models.UpdateExpressionValidator = _Validator  # type: ignore[misc, assignment]
    models.UpdateExpressionExecutor = _Executor  # type: ignore[misc, assignment]
    try:
        yield
    finally:
        UpdateExpressionParser.make = original_make  # type: ignore[method-assign]
        models.UpdateExpressionValidator = original_validator  # type: ignore[misc]
        models.UpdateExpressionExecutor = original_executor  # type: ignore[misc]
