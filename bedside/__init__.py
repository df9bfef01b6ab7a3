"""bedside-kit: one namespace for every part of the kit.

Floors, from the bottom up (tests/test_imports.py keeps them): `bedside.contract` (the
device contract, imports nothing of the kit) -> kit utilities (`fileio`, `rundir`, ...) ->
`bedside.reference` and `bedside.sources` -> the stages `bedside.training`,
`bedside.converter`, `bedside.host_tools` -> `bedside.bench`, `bedside.demo`, `bedside.cli`.
"""
