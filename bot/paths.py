"""Where the shipped data lives, resolved from this file rather than the working directory."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
POLICIES = DATA / "policies"
