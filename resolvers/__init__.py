"""What each operation does, as plain async functions over a request Context.

GraphQL resolvers and (later) the REST shims call these; no business rule is written twice.
"""
