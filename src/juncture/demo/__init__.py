"""The demo: the simulated retailer (:mod:`juncture.sim`) driven through the real pipeline
in event time by :mod:`~juncture.demo.harness`, beside :mod:`juncture.bench`."""
