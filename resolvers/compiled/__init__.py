"""The compiled read path: a root field's whole selection as one SQL statement whose JSON the database builds.

schema/compiled/ decides which requests qualify (every selected field listed in entities.COMPILABLE, every
permission granted, no argument the compiler does not know); this package builds and runs the statement with
the caller's row scope. Anything it cannot answer exactly as the ordinary execution would, it declines (None),
and the request is executed the ordinary way.
"""
