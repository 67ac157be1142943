"""The pure import engine: sources, mapping, results. Imports neither Flask nor RQ (see README.md here).

Nothing is imported here: every `backend.pipeline.*` import runs this file, and the export's CSV path must
not load pandas for the import's chunks (import from the submodules, e.g. backend.pipeline.chunk).
"""
