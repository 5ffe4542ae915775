"""Which operations the compiled read path answers: a query whose every root field and selected field it can
build in SQL, turned into plain selections (resolvers/compiled/selection.py) once per document.

Declined (None: the ordinary execution answers) for anything else: a mutation or subscription, a directive, a
fragment on an interface or union, the same response key twice, a field argument the compiler does not read, a
field with a permission class other than `requires(...)` or a field extension other than the root's `Fresh`.
The permissions of every compiled field are collected, so the executor can check them all up front: one the
caller lacks sends the request the ordinary way, which answers the FORBIDDEN error in its place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
)
from strawberry.permission import PermissionExtension

from resolvers.compiled.connections import CONNECTION_FIELDS, EDGE_FIELDS, PAGE_INFO_FIELDS
from resolvers.compiled.entities import COMPILABLE
from resolvers.compiled.reads import StatementCache
from resolvers.compiled.selection import Selection
from resolvers.permissions import Permission
from schema.extensions import Fresh
from schema.permissions import RequiresPermission

DEFINITION = "strawberry-definition"
logger = logging.getLogger("gateway.compiled")  # where strawberry keeps a GraphQL field's own definition


@dataclass(frozen=True, slots=True)
class RootPlan:
    """One root field: its response key, name, node (for its arguments) and selection."""

    key: str
    field: str
    node: FieldNode
    definition: GraphQLField
    selection: Selection


@dataclass(frozen=True, slots=True)
class Plan:
    operation: OperationDefinitionNode
    roots: tuple[RootPlan, ...]
    permissions: frozenset[Permission]
    # The nested connections' fields, by Selection.site: their arguments are read per request.
    sites: tuple[tuple[GraphQLField, FieldNode], ...]
    # The statements built for it so far, per shape (resolvers/compiled/reads.py).
    statements: StatementCache = field(default_factory=StatementCache, compare=False)


# Root fields the compiler answers, with the arguments it reads (others must be absent or null).
ROOT_ARGUMENTS: Mapping[str, frozenset[str]] = {
    "bookings": frozenset({"sort", "first", "after", "filter", "last", "before", "maxAge"}),
    "customers": frozenset({"first", "after", "filter", "last", "before", "maxAge"}),
}
# Nested connections the compiler answers, with the arguments it reads (`last`/`before` must be null).
NESTED_ARGUMENTS: Mapping[tuple[str, str], frozenset[str]] = {
    ("Customer", "bookings"): frozenset({"first", "after", "last", "before", "sort"}),
}
# The GraphQL shape of a connection around compilable nodes.
_CONNECTION_SHAPES: Mapping[str, frozenset[str]] = {
    "Connection": CONNECTION_FIELDS,
    "Edge": EDGE_FIELDS,
    "PageInfo": PAGE_INFO_FIELDS,
}


class Declined(Exception):
    """Not compiled; the ordinary execution answers."""


def plan_operation(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan | None:
    try:
        return _plan(schema, document, operation_name)
    except Declined:
        return None
    except Exception:
        # A document the planner misreads must not fail the request: the ordinary execution answers it.
        logger.exception("the compiled read path could not plan an operation")
        return None


def _plan(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> Plan:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    chosen = [op for op in operations if operation_name is None or (op.name and op.name.value == operation_name)]
    if len(chosen) != 1 or chosen[0].operation is not OperationType.QUERY or chosen[0].directives:
        raise Declined
    operation = chosen[0]
    query_type = schema.query_type
    assert query_type is not None
    walker = _Walker(fragments)
    roots: list[RootPlan] = []
    for node in walker.fields(query_type, operation.selection_set):
        name = node.name.value
        if name not in ROOT_ARGUMENTS:
            raise Declined
        definition = query_type.fields[name]
        walker.check_root(definition, node, ROOT_ARGUMENTS[name])
        selection = walker.selection(definition, node)
        roots.append(RootPlan(selection.key, name, node, definition, selection))
    return Plan(operation, tuple(roots), frozenset(walker.permissions), tuple(walker.sites))


class _Walker:
    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.permissions: set[Permission] = set()
        self.sites: list[tuple[GraphQLField, FieldNode]] = []

    def fields(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None) -> list[FieldNode]:
        """The fields selected on `parent`, fragments on `parent` itself flattened; one per response key."""
        if selection_set is None:
            raise Declined
        found: list[FieldNode] = []
        for node in selection_set.selections:
            if node.directives:
                raise Declined
            if isinstance(node, FieldNode):
                found.append(node)
            elif isinstance(node, InlineFragmentNode):
                if node.type_condition is not None and node.type_condition.name.value != parent.name:
                    raise Declined
                found.extend(self.fields(parent, node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None or fragment.directives or fragment.type_condition.name.value != parent.name:
                    raise Declined
                found.extend(self.fields(parent, fragment.selection_set))
        keys = [(node.alias or node.name).value for node in found]
        if len(set(keys)) != len(keys):
            raise Declined  # merging same-key fields is the ordinary executor's business
        return found

    def check_root(self, definition: GraphQLField, node: FieldNode, arguments: frozenset[str]) -> None:
        if any(argument.name.value not in arguments for argument in node.arguments or ()):
            raise Declined
        self._check_definition(definition, root=True)

    def _check_definition(self, definition: GraphQLField, *, root: bool = False) -> None:
        field = definition.extensions.get(DEFINITION)
        if field is None:
            return
        for permission_class in field.permission_classes:
            if not issubclass(permission_class, RequiresPermission):
                raise Declined
            self.permissions.add(permission_class.permission)
        for extension in field.extensions:
            # strawberry runs permission_classes (checked above) as a PermissionExtension.
            if not (isinstance(extension, PermissionExtension) or (root and isinstance(extension, Fresh))):
                raise Declined

    def selection(self, definition: GraphQLField, node: FieldNode) -> Selection:
        key = (node.alias or node.name).value
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType):
            raise Declined
        children: list[Selection] = []
        for child in self.fields(named, node.selection_set):
            children.append(self._child(named, child))
        return Selection(key, node.name.value, tuple(children))

    def _child(self, parent: GraphQLObjectType, node: FieldNode) -> Selection:
        key, name = (node.alias or node.name).value, node.name.value
        if name == "__typename":
            return Selection(key, name, typename=parent.name)
        if not _compilable(parent.name, name):
            raise Declined
        definition = parent.fields[name]
        self._check_definition(definition)
        nested = NESTED_ARGUMENTS.get((parent.name, name))
        if nested is not None:
            if any(argument.name.value not in nested for argument in node.arguments or ()):
                raise Declined
            self.sites.append((definition, node))
            selection = self.selection(definition, node)
            return Selection(selection.key, selection.field, selection.children, site=len(self.sites) - 1)
        if node.arguments:
            raise Declined
        if node.selection_set is None:
            return Selection(key, name)
        return self.selection(definition, node)


def _compilable(type_name: str, field_name: str) -> bool:
    fields = COMPILABLE.get(type_name)
    if fields is None:
        for suffix, shape in _CONNECTION_SHAPES.items():
            if type_name.endswith(suffix):
                fields = shape
                break
    return fields is not None and field_name in fields
