"""`bedside bench ...`: benchmarks that drive the stages below them (engine, boards, link,
personalization, reliability, safety). The top floor beside the CLI and the demo: a bench
may import any stage; no stage imports a bench."""
