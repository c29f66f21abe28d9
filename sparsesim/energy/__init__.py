"""Energy and power of a run: components x actions x counts (Accelergy style), one cited table per target.

`tables` (energy per action with its source), `actions` (counts read from the simulation that ran), `model`
(their product per op and per component). docs/energy_model.md lists every coefficient.
"""
