"""slowfs — a read-only FUSE pass-through with a fixed delay per metadata operation.

    python slowfs.py UNDER MOUNTPOINT [--delay-ms MS]

The reproduction of a slow, event-less bind mount (Docker Desktop's file sharing on macOS, a
network share): every stat (getattr), directory listing and open through MOUNTPOINT waits
MS milliseconds (default 0.4) before it is answered from UNDER, so a stat walk of a
20 000-file tree takes seconds, as the issue measured on Docker Desktop. Changes made in UNDER
raise no file event on MOUNTPOINT, as changes made on the host raise none in the container.
The kernel keeps attributes for a second (FUSE's default), as Docker Desktop's does.

Built on mfusepy (PyPI; libfuse 3 through ctypes). Runs in the foreground until unmounted
(`fusermount3 -u MOUNTPOINT`) or signalled; prints "mounted" on stdout once it is.
"""

import argparse
import errno
import os
import sys
import threading
import time

import mfusepy as fuse


class Slow(fuse.Operations):
    use_ns = True

    def __init__(self, under, delay_s):
        self.under = os.path.realpath(under)
        self.delay_s = delay_s

    def _path(self, path):
        return os.path.join(self.under, path.lstrip("/"))

    def _wait(self):
        if self.delay_s > 0:
            time.sleep(self.delay_s)

    def init(self, path):
        # Said once the kernel talks to us: the harness waits for this line.
        threading.Timer(0.05, lambda: print("mounted", flush=True)).start()

    def getattr(self, path, fh=None):
        self._wait()
        try:
            st = os.lstat(self._path(path))
        except OSError as e:
            raise fuse.FuseOSError(e.errno)
        return {
            "st_mode": st.st_mode, "st_ino": st.st_ino, "st_nlink": st.st_nlink,
            "st_uid": st.st_uid, "st_gid": st.st_gid, "st_size": st.st_size,
            "st_atime": st.st_atime_ns, "st_mtime": st.st_mtime_ns, "st_ctime": st.st_ctime_ns,
        }

    def readdir(self, path, fh):
        self._wait()
        try:
            names = os.listdir(self._path(path))
        except OSError as e:
            raise fuse.FuseOSError(e.errno)
        return [".", ".."] + names

    def readlink(self, path):
        self._wait()
        return os.readlink(self._path(path))

    def access(self, path, amode):
        if not os.access(self._path(path), amode):
            raise fuse.FuseOSError(errno.EACCES)
        return 0

    def open(self, path, flags):
        self._wait()
        if flags & (os.O_WRONLY | os.O_RDWR):
            raise fuse.FuseOSError(errno.EROFS)
        try:
            return os.open(self._path(path), os.O_RDONLY)
        except OSError as e:
            raise fuse.FuseOSError(e.errno)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def release(self, path, fh):
        os.close(fh)
        return 0

    def statfs(self, path):
        st = os.statvfs(self.under)
        return {key: getattr(st, key) for key in (
            "f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files",
            "f_flag", "f_frsize", "f_namemax")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("under")
    parser.add_argument("mountpoint")
    parser.add_argument("--delay-ms", type=float, default=0.4)
    args = parser.parse_args()
    fuse.FUSE(Slow(args.under, args.delay_ms / 1000), args.mountpoint, foreground=True,
              ro=True, allow_other=True, fsname=os.path.realpath(args.under), subtype="slowfs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
