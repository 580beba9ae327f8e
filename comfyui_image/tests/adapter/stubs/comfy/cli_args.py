import argparse

args = argparse.Namespace(cache_lru=0, cache_ram=0, cache_none=False, cpu=False)
