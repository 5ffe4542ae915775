"""The compiled read path's GraphQL side: which operations qualify (planner) and the extension that answers
them (extension); the SQL is resolvers/compiled/."""
