"""`dot-setup doctor`: checks that find what stops a client from reaching Dot, and safe fixes.

model.py defines a check and its result, context.py what the checks share (paths, the clients'
entries, memoised network facts), checks/ the checks by area, registry.py the fixed order,
runner.py runs them concurrently with per-check timeouts, report.py renders them and fixes.py
applies the safe fixes.
"""
