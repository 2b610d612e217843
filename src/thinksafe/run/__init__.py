"""The run machinery: a validated configuration built into a plan of components, the engine
that runs it in stages (attempts, generate, judge, store), request workers, retries, sweeps and
transcript replay."""
