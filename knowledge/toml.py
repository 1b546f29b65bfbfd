"""TOML parsing: tomli, the standard tomllib's own source, but installed compiled (mypyc), which
reads the shipped 560 KB topics file about three times faster, a tenth of a second of every
`staffbot ask`. Where no compiled wheel exists it is the same pure Python as tomllib."""

import tomli as tomllib

__all__ = ["tomllib"]
