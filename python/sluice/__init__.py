"""sluice: static media for big Django sites.

The package carries the `sluice` binary (installed into the environment's scripts folder by
the wheel) and the Django app `sluice.django`. `find_sluice_bin()` returns the binary's path;
`python -m sluice ARGS` runs it.
"""

from sluice._find_sluice import find_sluice_bin

__all__ = ["find_sluice_bin"]
