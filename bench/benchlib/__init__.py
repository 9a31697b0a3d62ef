"""sluice's benchmark harness: builds sluice, generates a Django project, times sluice against
the incumbent tools side by side. Stdlib only, so `bench/run` works with any Python 3.9+."""
