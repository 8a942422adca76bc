"""Files shipped with the package: the embedded default config and the demo's fictional news."""
