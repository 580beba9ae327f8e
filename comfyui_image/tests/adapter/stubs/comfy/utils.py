reads = []
DISABLE_MMAP = False  # --disable-mmap


def load_torch_file(ckpt, safe_load=False, device=None, return_metadata=False):
    reads.append(ckpt)
    with open(ckpt, "rb") as handle:
        content = handle.read()
    state_dict = {"weight": bytearray(content), "bias": bytearray(b"b")}
    if "ipadapter" in ckpt:  # IP-Adapter and PhotoMaker files nest their state dicts
        state_dict = {"image_proj": dict(state_dict), "ip_adapter": {"1.to_k": bytearray(b"k")}}
    metadata = {"format": "pt"}
    return (state_dict, metadata) if return_metadata else state_dict
