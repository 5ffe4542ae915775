"""Delta pulls: jobs, cursors, the scheduler, full reconciliation and the baseline of a new location."""
