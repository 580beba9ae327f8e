reads = []


def load_torch_file(ckpt, safe_load=False, device=None, return_metadata=False):
    reads.append(ckpt)
    with open(ckpt, "rb") as handle:
        content = handle.read()
    state_dict = {"weight": bytearray(content), "bias": bytearray(b"b")}
    metadata = {"format": "pt"}
    return (state_dict, metadata) if return_metadata else state_dict
