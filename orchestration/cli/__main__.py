"""`python -m hvla.orchestration.cli ...` is `hvla ...` (for a venv whose scripts are not on PATH)."""

from hvla.orchestration.cli.main import app

app(prog_name="hvla")
