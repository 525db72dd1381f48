"""Test harness: a private PostgreSQL cluster, a real campus Hub, and an API client that
checks the invariants every response must keep (JSON, CSP)."""
