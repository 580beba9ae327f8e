"""What a run downloads and deletes, and whether it fits: pure functions, no I/O."""
from __future__ import annotations

import re

GIB = 1024 ** 3
GLOB_CHARACTERS = re.compile(r"[*?]")  # s5cmd's wildcards: `presign` cannot take them literally

# How much of the instance-store array a sync leaves free. The array also holds /var/lib/kubelet and
# /var/lib/containerd (nodeadm's RAID0 instance-store policy bind-mounts them onto it), so every disk threshold
# of kubelet applies to this one filesystem:
# - eviction below 10 % free on nodefs and 15 % on imagefs, kubelet's DefaultEvictionHard
#   (https://github.com/kubernetes/kubernetes/blob/v1.35.4/pkg/kubelet/eviction/defaults_linux.go); EKS's
#   nodeadm sets the nodefs 10 % itself (awslabs/amazon-eks-ami nodeadm/internal/kubelet/config.go);
# - image garbage collection from 85 % used down to 80 %
#   (https://github.com/kubernetes/kubernetes/blob/v1.35.4/pkg/kubelet/apis/config/v1beta1/defaults.go).
# Keeping the highest, 15 %, plus a 5 % margin free leaves the disk at most 80 % used after a sync (image GC's
# low mark), and images, emptyDir volumes and logs the 5 % between (190 GB on a 3.8 TB array) before any
# eviction. A fixed 30 GiB would let models fill a 3.8 TB array to 99 %, and kubelet would evict ComfyUI.
# Small disks keep the 30 GiB floor.
KUBELET_EVICTION_THRESHOLD_PERCENT = 15.0
RESERVE_MARGIN_PERCENT = 5.0
DEFAULT_RESERVE_PERCENT = KUBELET_EVICTION_THRESHOLD_PERCENT + RESERVE_MARGIN_PERCENT
DEFAULT_RESERVE_GIB = 30.0


def plan_sync(remote: dict, manifest: dict, local_files: set, scope: set | None) -> tuple:
    """Returns (downloads, deletes), both sorted lists of keys.

    remote: key -> {"size", "etag"} as listed now; manifest: key -> {"size", "etag"} of files this script
    placed; local_files: model keys present on disk; scope: keys to reconcile, or None for everything.
    """
    candidates = set(remote) | set(manifest) | local_files if scope is None else scope
    downloads, deletes = [], set()
    for key in candidates:
        if key in remote:
            have = manifest.get(key)
            if key not in local_files or have is None or have.get("etag") != remote[key]["etag"] \
                    or have.get("size") != remote[key]["size"]:
                downloads.append(key)
        elif key in local_files or key in manifest:
            deletes.add(key)
    # A file where a download needs a folder (the bucket now holds loras/foo/bar.pt, the node the older file
    # loras/foo, which the listing refused): a keys run that was not told about loras/foo deletes it too.
    for key in downloads:
        segments = key.split("/")
        deletes.update(f for f in ("/".join(segments[:d]) for d in range(2, len(segments))) if f in local_files)
    return sorted(downloads), sorted(deletes)


def free_space_reserve(fs_size: int, floor_gib: float = DEFAULT_RESERVE_GIB,
                       percent: float = DEFAULT_RESERVE_PERCENT) -> int:
    """Bytes the models must leave free on a filesystem of fs_size bytes: percent of it, and never less than
    floor_gib (the room images and pod data need on a small disk)."""
    return max(int(floor_gib * GIB), int(fs_size * percent / 100.0))


def space_shortfall(need: int, free: int, freed: int, reserve: int) -> int:
    """Bytes missing for the downloads (0 when they fit); new copies land beside the old until renamed."""
    return max(0, need + reserve - free - freed)


def split_downloads(keys: list, remote: dict, part_size: int) -> tuple:
    """(fetched, copied): keys of objects of at most one part, which a presigned GET fetches, and the others,
    which s5cmd copies. Either way only the listed keys, each to a file of ours.

    s5cmd asks for an object's size (one HEAD) before it copies a single key (s5cmd v2.3.0, command/cp.go:
    Copy.Run), which doubles the requests for small files; a presigned URL (signed locally by s5cmd) takes
    one GET. Large objects keep s5cmd's parallel ranged parts, where one HEAD costs nothing. Presigning
    refuses '*' and '?' in keys (it has no --raw), so those go to s5cmd as well.
    """
    fetched = [k for k in keys if remote[k]["size"] <= part_size and not GLOB_CHARACTERS.search(k)]
    chosen = set(fetched)
    return fetched, [k for k in keys if k not in chosen]
