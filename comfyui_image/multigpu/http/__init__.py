"""aiohttp layer over the core: the only package (with sim/) that imports aiohttp."""
