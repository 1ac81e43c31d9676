"""A real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) for the PACS tests, loopback only.

Orthanc listens on every interface and has no option to bind to one, so it runs in a network
namespace of its own that holds nothing but a loopback interface (`unshare --net`): nothing
outside the namespace can reach it, and it cannot reach anything. The test's HTTP client has
to be inside that namespace too; `run()` executes a function on a worker thread that has
joined it (`setns(2)` moves only the calling thread), so the test keeps its settings, its
fixtures and its log capture. The namespace ends with the Orthanc process.

Needs root (or CAP_SYS_ADMIN) for the namespace; `orthanc_unavailable()` says why not.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import requests

CLONE_NEWNET = 0x40000000
PLUGIN_PATHS = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/plugins/libOrthancDicomWeb.so",
)
PORT = 8042  # free by construction: the namespace is empty
T = TypeVar("T")


def program(name: str) -> str | None:
    """A program's path; /usr/sbin too, which a non-root PATH often leaves out."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/sbin:/bin")


def dicomweb_plugin() -> str | None:
    return next((p for p in PLUGIN_PATHS if Path(p).exists()), None)


def orthanc_unavailable() -> str | None:
    """Why a private Orthanc cannot be started here, or None when it can."""
    if program("Orthanc") is None:
        return "Orthanc (apt-get install orthanc orthanc-dicomweb)"
    if dicomweb_plugin() is None:
        return "Orthanc's DICOMweb plugin (apt-get install orthanc-dicomweb)"
    if program("unshare") is None or program("ip") is None:
        return "unshare and ip (util-linux, iproute2) for Orthanc's private network namespace"
    probe = subprocess.run(
        [program("unshare"), "--net", "--", program("ip"), "link", "set", "lo", "up"],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return "a private network namespace for Orthanc (needs root or CAP_SYS_ADMIN)"
    return None


def _join_namespace(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


class OrthancServer:
    """One Orthanc with DICOMweb and HTTP basic authentication, in its own namespace."""

    username = "pl-test"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.password = secrets.token_urlsafe(12)
        self.process: subprocess.Popen | None = None
        self.namespace_fd: int | None = None
        self.executor: ThreadPoolExecutor | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORT}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.url}/dicom-web"

    def config(self) -> dict:
        storage = self.root / "storage"
        storage.mkdir(parents=True, exist_ok=True)
        return {
            "Name": "pl-test-pacs",
            "StorageDirectory": str(storage),
            "IndexDirectory": str(storage),
            "HttpPort": PORT,
            "HttpServerEnabled": True,
            "DicomServerEnabled": False,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": True,
            "RegisteredUsers": {self.username: self.password},
            "Plugins": [dicomweb_plugin()],
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
            "SaveJobs": False,
            "StorageCompression": False,
            "HttpDescribeErrors": False,
        }

    def start(self, timeout: float = 20.0) -> OrthancServer:
        config = self.root / "orthanc.json"
        config.write_text(json.dumps(self.config()), encoding="utf-8")
        self.log = (self.root / "orthanc.log").open("wb")
        # `unshare` execs the shell in the new namespace and the shell execs Orthanc: one
        # process, whose /proc/<pid>/ns/net is the namespace to join.
        self.process = subprocess.Popen(
            [
                program("unshare"),
                "--net",
                "--",
                "sh",
                "-c",
                '"$0" link set lo up && exec "$1" "$2"',
                program("ip"),
                program("Orthanc"),
                str(config),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        own = os.readlink("/proc/self/ns/net")
        while self.namespace_fd is None:
            # Until `unshare` has run, the child is still in our namespace: wait for it to
            # differ, or the test would join the host's network (and Orthanc listen on it).
            try:
                if os.readlink(f"/proc/{self.process.pid}/ns/net") != own:
                    self.namespace_fd = os.open(f"/proc/{self.process.pid}/ns/net", os.O_RDONLY)
                    continue
            except OSError:
                pass
            self._check_alive(deadline)
        self.executor = ThreadPoolExecutor(
            max_workers=1, initializer=_join_namespace, initargs=(self.namespace_fd,)
        )
        while not self.run(self._answers):
            self._check_alive(deadline)
        return self

    def _check_alive(self, deadline: float) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"Orthanc exited ({self.process.returncode}); see {self.log.name}")
        if time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"Orthanc did not start in time; see {self.log.name}")
        time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            return self.get("/system").ok
        except requests.ConnectionError:
            return False

    def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call `function` on a thread inside Orthanc's network namespace; return its result."""
        assert self.executor is not None, "start() first"
        return self.executor.submit(function, *args, **kwargs).result()

    # REST calls, made from inside the namespace ------------------------------------------

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path, auth=(self.username, self.password), timeout=10)

    def upload(self, files: Iterable[bytes]) -> list[str]:
        """Store DICOM files (bytes) through the REST API; returns Orthanc's instance ids."""

        def post_all() -> list[str]:
            ids = []
            with requests.Session() as session:
                session.auth = (self.username, self.password)
                for data in files:
                    response = session.post(self.url + "/instances", data=data, timeout=10)
                    response.raise_for_status()
                    ids.append(response.json()["ID"])
            return ids

        return self.run(post_all)

    def stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None
        if self.process is not None and self.process.poll() is None:
            # No graceful shutdown (it takes Orthanc a second or two): the storage is a
            # temporary folder, and the namespace ends with the process.
            self.process.kill()
            self.process.wait()
        self.process = None
        if self.namespace_fd is not None:
            os.close(self.namespace_fd)
            self.namespace_fd = None
        if getattr(self, "log", None) is not None:
            self.log.close()


def reachable_from_here(port: int = PORT) -> bool:
    """Whether anything answers on loopback in the calling thread's namespace."""
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0
