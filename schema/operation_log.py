"""Names the GraphQL operation in the request's log lines and its access line (observability.requests)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from observability.requests import annotate


class OperationNameLogged(SchemaExtension):
    """The operation's name, as the client named it or as the document does, once the document is parsed."""

    def _note(self) -> None:
        try:
            name = self.execution_context.operation_name
        except Exception:  # noqa: BLE001 - a document that did not parse has no name to give
            return
        annotate(operation=name)

    def on_execute(self) -> Iterator[None]:
        self._note()  # before execution: the lines the resolvers log carry it too
        yield

    def on_operation(self) -> Iterator[None]:
        yield
        self._note()  # also for an operation refused before execution (validation, limits)
