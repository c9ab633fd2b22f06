"""Benchmarks of Anomaly Studio on real data: `python -m bench [--quick] [--only SUITE] [--data-dir DIR]`.

Suites: `quality` (the presets beside published numbers), `one_class` (each MNIST / Fashion-MNIST class in
turn as the normal class) and `speed` (throughput, latency and memory, as ratios measured side by side).
Every table is printed as markdown and written to bench-output/.
"""
