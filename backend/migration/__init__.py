"""Multi-object jobs and org-to-org migration: a plan of ordered steps written through the import engine."""
