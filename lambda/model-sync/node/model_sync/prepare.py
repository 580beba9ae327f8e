"""What root does before a sync (--prepare-cache-for): wait for the instance-store array, create the cache
folders and give them to the unprivileged sync user, never following a symlink."""
from __future__ import annotations

import os
import pwd
import time

from .log import log
from .outcome import EXIT_NOT_MOUNTED, EXIT_USAGE, SyncError


def wait_for_mount(path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    if not os.path.ismount(path):
        log("waiting up to %d s for the instance-store array at %s" % (timeout, path))
    while not os.path.ismount(path):
        if time.monotonic() > deadline:
            raise SyncError("%s is not mounted: the node has no instance-store array, so the models would fill "
                            "the root volume. Use an instance type with NVMe instance store and "
                            "instanceStorePolicy RAID0 in the EC2NodeClass." % path, EXIT_NOT_MOUNTED)
        time.sleep(1)


def prepare_cache(data_dir: str, user: str) -> None:
    """Run as root before the sync: creates data_dir, models/ and model-sync/ and gives them to `user`, the
    unprivileged user the sync runs as, with whatever an older sync left there as root (a one-time handover).

    Never follows a symlink: below data_dir everything belongs to `user`, who could otherwise point a folder
    at /etc and have root give it away. Folders are opened with O_NOFOLLOW and walked by descriptor (fwalk).
    """
    try:
        owner = pwd.getpwnam(user)
    except KeyError:
        raise SyncError("user %s does not exist: install-node-sync.sh creates it (useradd --system)" % user,
                        EXIT_USAGE)
    uid, gid = owner.pw_uid, owner.pw_gid
    os.makedirs(os.path.dirname(data_dir), exist_ok=True)
    top = open_own_folder(None, data_dir)
    try:
        for name in ("models", "model-sync"):
            fd = open_own_folder(top, name)
            try:
                hand_over(fd, uid, gid)
            finally:
                os.close(fd)
        hand_over(top, uid, gid, walk=False)
    finally:
        os.close(top)


def open_own_folder(parent_fd, name: str) -> int:
    """Creates the folder if missing (mode 0755: ComfyUI, uid 10001, reads the models); refuses a symlink."""
    try:
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    except FileExistsError:
        pass
    try:
        return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=parent_fd)
    except OSError as error:  # ELOOP (a symlink) or ENOTDIR
        raise SyncError("cannot prepare the model cache: %s is not a folder (%s); remove it"
                        % (name, error.strerror), EXIT_USAGE)


def hand_over(fd: int, uid: int, gid: int, walk: bool = True) -> None:
    """Gives the folder (and, when root owns it, everything below that root owns) to uid:gid."""
    if os.fstat(fd).st_uid == uid:
        return  # handed over before; whatever is below was written by the sync user
    if walk:
        for _dir, dirs, files, dir_fd in os.fwalk(".", dir_fd=fd, topdown=False, follow_symlinks=False):
            for name in dirs + files:
                if os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_uid == 0:
                    os.chown(name, uid, gid, dir_fd=dir_fd, follow_symlinks=False)
    os.fchown(fd, uid, gid)
    os.fchmod(fd, 0o755)



def current_user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "uid %d" % os.geteuid()
