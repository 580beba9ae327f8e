"""A simulator: the real core and HTTP routes with a simulated executor and a stand-in for
ComfyUI's intake. For tests, benchmarks and client development; it runs no model."""
