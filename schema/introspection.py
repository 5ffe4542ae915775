"""Introspection is for authenticated callers: an anonymous one learns nothing of the schema beyond
`__typename` (GraphiQL sends the token from its Headers tab with its introspection query). Federation's
`_service { sdl }` is the same knowledge in another shape, so it follows the same rules: a credential, and off
when introspection is."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
)
from graphql.language import DocumentNode, FragmentDefinitionNode, SelectionSetNode
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult

from resolvers.context import Context
from resolvers.errors import ErrorCode

FEDERATION_SDL_FIELD = "_service"
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", FEDERATION_SDL_FIELD})


def _root_fields(selections: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]) -> Iterator[str]:
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            yield from _root_fields(fragments[selection.name.value].selection_set, fragments)


def asks_for_introspection(document: DocumentNode) -> bool:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return any(
        name in INTROSPECTION_FIELDS
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
        for name in _root_fields(definition.selection_set, fragments)
    )


class AnonymousIntrospectionRefused(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        context = execution.context
        document = execution.graphql_document
        if (
            isinstance(context, Context)
            and context.principal.is_anonymous
            and document is not None
            and asks_for_introspection(document)
        ):
            error = GraphQLError(
                "introspection needs a credential: send `Authorization: Bearer <token>`",
                extensions={"code": ErrorCode.UNAUTHENTICATED.value},
            )
            execution.result = ExecutionResult(data=None, errors=[error])
        yield


class FederationSdlDisabled(ValidationRule):
    """With introspection off, `_service { sdl }` is off too: the SDL tells all that introspection would."""

    def enter_field(self, node: FieldNode, *_args: Any) -> None:
        parent = self.context.get_parent_type()
        if node.name.value == FEDERATION_SDL_FIELD and parent is self.context.schema.query_type:
            self.report_error(
                GraphQLError(
                    "the subgraph SDL (`_service`) is off, as introspection is (GATEWAY_INTROSPECTION=false)",
                    node,
                )
            )
